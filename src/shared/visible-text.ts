/**
 * Text shown for a person to approve (a command, an address) with its control characters and
 * bidi overrides made visible as escapes, so it cannot hide a tail below blank lines or reorder
 * how it reads (`\n` → `\\n`, U+202E → `\\u{202e}`). Shared by the web page's confirmation
 * dialog, the service's prompt text and Electron's dialog.
 */
export function visibleText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return Object.hasOwn(named, c) ? named[c]! : `\\u{${c.codePointAt(0)!.toString(16)}}`;
  });
}
