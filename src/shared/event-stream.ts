/**
 * Server-sent-event framing, as the web host writes it: blocks separated by a blank line, each
 * `data: ` line part of the block's data. Text goes in as it arrives (any split); the data of
 * every complete block comes out. Used by the page's bridge and by tests of the stream.
 */
export class EventStreamDecoder {
  private buffered = '';

  /** Adds received text; returns the data of each block it completed. */
  push(text: string): string[] {
    this.buffered += text;
    const out: string[] = [];
    let end: number;
    while ((end = this.buffered.indexOf('\n\n')) >= 0) {
      const block = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (data) out.push(data);
    }
    return out;
  }
}
