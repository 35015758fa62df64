/** A plain-words explanation (a paraphrase, never in quotes) followed by the RFC section it comes from. */
export function SectionHint({ text, rfcSection }: { text: string; rfcSection: string }) {
  return <p className="hint">{text} <span className="rfc">{rfcSection}</span></p>;
}
