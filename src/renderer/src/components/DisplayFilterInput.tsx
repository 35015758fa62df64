import { useEffect, useMemo, useRef, useState } from 'react';
import { completeAt, fields } from '../lib/display-filter.ts';

/**
 * The display-filter box: completion of field names, operators and values at the cursor (Tab or
 * Enter takes the highlighted one, arrows move, Escape closes), and the error in plain words.
 */
export function DisplayFilterInput({ value, onChange, error }: { value: string; onChange: (value: string) => void; error: string | null }) {
  const input = useRef<HTMLInputElement>(null);
  const [cursor, setCursor] = useState(0);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  // Leaving the box closes the list a moment later (a click on an option lands first). Coming back
  // before that moment cancels the close: otherwise it would shut the list on whatever is typed next.
  const closing = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const cancelClose = () => {
    clearTimeout(closing.current);
    closing.current = undefined;
  };
  useEffect(() => cancelClose, []);
  const completion = useMemo(() => completeAt(value, Math.min(cursor, value.length)), [value, cursor]);
  const options = open ? completion.options.slice(0, 12) : [];

  const accept = (index: number) => {
    const option = options[index];
    if (!option) return;
    const next = `${value.slice(0, completion.from)}${option.insert} ${value.slice(completion.to).replace(/^ /, '')}`;
    const at = completion.from + option.insert.length + 1;
    onChange(next);
    setCursor(at);
    setActive(0);
    // The caret goes after the accepted text once React has set it, unless more was typed first
    // (a fast typist, or a frame that came late): then the caret stays where the typing left it.
    requestAnimationFrame(() => {
      const box = input.current;
      if (box && box.value === next) box.setSelectionRange(at, at);
    });
  };

  return (
    <div className="display-filter">
      <input
        ref={input}
        className={`input ${error ? 'invalid' : value.trim() ? 'valid' : ''}`}
        placeholder="Filter: opcode == ping && len > 100"
        value={value}
        spellCheck={false}
        aria-label="Display filter"
        aria-invalid={error ? true : undefined}
        aria-autocomplete="list"
        aria-expanded={options.length > 0}
        aria-controls="display-filter-options"
        data-testid="display-filter"
        title={`Fields: ${fields.map((f) => f.name).join(', ')}. Join tests with && || ! and ( ).`}
        onChange={(e) => {
          cancelClose();
          onChange(e.target.value);
          setCursor(e.target.selectionStart ?? e.target.value.length);
          setOpen(true);
          setActive(0);
        }}
        onFocus={() => {
          cancelClose();
          setOpen(true);
        }}
        onBlur={() => {
          cancelClose();
          closing.current = setTimeout(() => {
            closing.current = undefined;
            if (document.activeElement !== input.current) setOpen(false);
          }, 120);
        }}
        onSelect={(e) => setCursor(e.currentTarget.selectionStart ?? 0)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') setOpen(false);
          else if (options.length > 0 && e.key === 'ArrowDown') { e.preventDefault(); setActive((active + 1) % options.length); }
          else if (options.length > 0 && e.key === 'ArrowUp') { e.preventDefault(); setActive((active + options.length - 1) % options.length); }
          else if (options.length > 0 && (e.key === 'Tab' || (e.key === 'Enter' && completion.to > completion.from))) { e.preventDefault(); accept(active); }
        }}
      />
      {options.length > 0 && (
        <ul className="completions" id="display-filter-options" role="listbox" data-testid="filter-completions">
          {options.map((o, i) => (
            <li key={o.label} role="option" aria-selected={i === active} className={i === active ? 'active' : ''} onMouseDown={(e) => { e.preventDefault(); accept(i); }}>
              <code>{o.label}</code> <span className="muted">{o.help}</span>
            </li>
          ))}
        </ul>
      )}
      {error && <div className="filter-error" role="alert" data-testid="filter-error">{error}</div>}
    </div>
  );
}
