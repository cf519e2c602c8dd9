import iconv from 'iconv-lite';

/**
 * Models arrive as modelers write them: UTF-8 with or without a byte-order mark, UTF-16 with one,
 * ISO-8859-1 or Windows-1252 from older Java tools, GBK/GB18030 from Chinese Visio exports. A
 * document is decoded by what it says it is — its byte-order mark, else its XML declaration, else
 * UTF-8 as XML defines — and refused when the bytes are not that encoding: never guessed, never
 * "fixed" into replacement characters. The text handed on declares UTF-8, which it now is.
 */

/** The encodings accepted, by the names a declaration may use (lower case), to iconv-lite's. */
const encodings: Record<string, string> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'utf-16': 'utf-16',
  'utf-16le': 'utf-16le',
  'utf-16be': 'utf-16be',
  'iso-8859-1': 'latin1',
  'iso8859-1': 'latin1',
  latin1: 'latin1',
  'us-ascii': 'utf-8',
  ascii: 'utf-8',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
  'iso-8859-15': 'iso-8859-15',
  gbk: 'gbk',
  gb2312: 'gbk',
  gb18030: 'gb18030',
  big5: 'big5',
};

export const acceptedEncodings = ['UTF-8', 'UTF-16 (with a byte-order mark)', 'ISO-8859-1', 'ISO-8859-15', 'Windows-1252', 'GBK / GB2312', 'GB18030', 'Big5'];

/** The document's bytes are not text in the encoding it names, or it names one Keyflow does not read. */
export class XmlEncodingError extends Error {
  readonly code = 'XML_ENCODING';
  constructor(message: string) {
    super(message);
    this.name = 'XmlEncodingError';
  }
}

type Bom = { encoding: 'utf-8' | 'utf-16le' | 'utf-16be'; length: number };

function byteOrderMark(bytes: Buffer): Bom | null {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return null;
}

/** The `encoding` of the XML declaration, read from the first bytes as ASCII (every accepted encoding agrees there). */
function declaredEncoding(head: string): string | null {
  const declaration = /^\s*<\?xml\s[^?]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
  return declaration ? declaration[1]!.toLowerCase() : null;
}

function strictUtf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new XmlEncodingError(`the document is not valid UTF-8 (byte ${at + 1} is not part of a UTF-8 character); if it is in another encoding, say so in its XML declaration, e.g. <?xml version="1.0" encoding="ISO-8859-1"?>`);
  }
}

function firstInvalidUtf8(bytes: Buffer): number {
  let index = 0;
  while (index < bytes.length) {
    const byte = bytes[index]!;
    const length = byte < 0x80 ? 1 : byte >= 0xc2 && byte < 0xe0 ? 2 : byte >= 0xe0 && byte < 0xf0 ? 3 : byte >= 0xf0 && byte < 0xf5 ? 4 : 0;
    if (length === 0 || index + length > bytes.length) return index;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(index, index + length));
    } catch {
      return index;
    }
    index += length;
  }
  return index;
}

/** Rewrites the declaration's encoding to UTF-8 (or adds none when there is no declaration). */
function declareUtf8(text: string): string {
  return text.replace(/^(\s*<\?xml\s[^?]*?encoding\s*=\s*["'])[A-Za-z0-9._-]+(["'])/, '$1UTF-8$2');
}

/**
 * Decodes a model document. `httpCharset` is the request's `charset` parameter, when it sent one:
 * it must agree with what the document says of itself.
 * @throws XmlEncodingError naming the encoding, and the byte where the text broke for UTF-8
 */
export function decodeXmlDocument(bytes: Buffer, httpCharset?: string): string {
  const bom = byteOrderMark(bytes);
  // `<` followed or preceded by a zero byte: UTF-16 without the mark XML requires of it (XML 1.0, appendix F).
  if (!bom && bytes.length >= 2 && ((bytes[0] === 0x3c && bytes[1] === 0) || (bytes[0] === 0 && bytes[1] === 0x3c))) {
    throw new XmlEncodingError('the document looks like UTF-16 without a byte-order mark; a UTF-16 document must start with one (FF FE or FE FF)');
  }
  const head = bom?.encoding.startsWith('utf-16') ? iconv.decode(bytes.subarray(bom.length, bom.length + 400), bom.encoding) : bytes.subarray(bom?.length ?? 0, 400).toString('latin1');
  const declared = declaredEncoding(head);
  if (declared && !encodings[declared]) {
    throw new XmlEncodingError(`the document declares encoding "${declared}", which Keyflow does not read; send it in one of ${acceptedEncodings.join(', ')}`);
  }
  if (httpCharset && !encodings[httpCharset.toLowerCase()]) throw new XmlEncodingError(`charset "${httpCharset}" is not one Keyflow reads; send ${acceptedEncodings.join(', ')}`);
  // What the document says of itself: the byte-order mark wins (a UTF-16 declaration is then redundant), then the declaration.
  let encoding: string;
  if (bom) {
    if (declared && encodings[declared] !== 'utf-16' && encodings[declared] !== bom.encoding && !(bom.encoding === 'utf-8' && encodings[declared] === 'utf-8')) {
      throw new XmlEncodingError(`the document starts with a ${bom.encoding.toUpperCase()} byte-order mark but declares encoding "${declared}"`);
    }
    encoding = bom.encoding;
  } else if (declared) {
    if (encodings[declared]!.startsWith('utf-16')) throw new XmlEncodingError('a UTF-16 document must start with a byte-order mark');
    encoding = encodings[declared]!;
  } else encoding = 'utf-8';
  if (httpCharset) {
    const sent = encodings[httpCharset.toLowerCase()]!;
    const same = sent === encoding || (sent === 'utf-16' && encoding.startsWith('utf-16'));
    if (!same) throw new XmlEncodingError(`the request says charset=${httpCharset} but the document is ${encoding.toUpperCase()} by its ${bom ? 'byte-order mark' : declared ? 'XML declaration' : 'default (no declaration: UTF-8)'}`);
  }
  const body = bytes.subarray(bom?.length ?? 0);
  const text = encoding === 'utf-8' ? strictUtf8(body) : iconv.decode(body, encoding);
  if (encoding !== 'utf-8' && text.includes('\uFFFD')) {
    throw new XmlEncodingError(`the document is not valid ${encoding.toUpperCase()}: some bytes are no character in it`);
  }
  return declareUtf8(text);
}
