/**
 * Reads a model file as the server reads an upload (api/xml-encoding.ts): by its byte-order mark,
 * else the encoding its XML declaration names, else UTF-8 — refusing bytes that are not that
 * encoding — and hands on text that declares UTF-8, which it then is. `File.text()` would read an
 * ISO-8859-1 or GBK export as UTF-8 and turn its names into replacement characters.
 * @throws Error saying which encoding the bytes are not
 */
export async function readModelFile(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let label = 'utf-8';
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  else if (bytes[0] === 0xff && bytes[1] === 0xfe) [label, start] = ['utf-16le', 2];
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) [label, start] = ['utf-16be', 2];
  else {
    const head = String.fromCharCode(...bytes.subarray(0, 400));
    const declared = /^\s*<\?xml\s[^?]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1];
    if (declared) label = declared.toLowerCase();
  }
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label, { fatal: true });
  } catch {
    throw new Error(`the file declares encoding "${label}", which this browser cannot read`);
  }
  let text: string;
  try {
    text = decoder.decode(bytes.subarray(start));
  } catch {
    throw new Error(`the file is not valid ${label.toUpperCase()}; if it is in another encoding, say so in its XML declaration`);
  }
  return text.replace(/^(\s*<\?xml\s[^?]*?encoding\s*=\s*["'])[A-Za-z0-9._-]+(["'])/, '$1UTF-8$2');
}
