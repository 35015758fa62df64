/** Opens a ws client to url: resolves "STATUS BODY" when the server refuses the upgrade, "opened" when it accepts. */
import WebSocket from 'ws';

export function refusal(url: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${body.trim()}`));
    });
    ws.on('error', () => {});
    ws.on('open', () => {
      ws.terminate();
      resolve('opened');
    });
  });
}
