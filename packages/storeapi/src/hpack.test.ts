import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { rng, waitFor } from '@thanos-ts/testutil';
import { afterEach, describe, expect, it } from 'vitest';
import { frameHeader } from './h2-conn.js';
import { HpackDecoder, HpackError, encodeHeaders } from './hpack.js';
import { huffmanDecode, huffmanDecodedMaxLength, huffmanEncode, huffmanEncodedLength } from './hpack-huffman.js';

type Field = [string, string];

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

function decodeAll(d: HpackDecoder, block: Uint8Array): Field[] {
  const out: Field[] = [];
  d.decode(block, (name, value) => out.push([name, value]));
  return out;
}

describe('HpackDecoder: RFC 7541 Appendix C', () => {
  // C.2: each example starts from an empty table.
  it.each([
    ['C.2.1', '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572', [['custom-key', 'custom-header']], [['custom-key', 'custom-header']], 55],
    ['C.2.2', '040c 2f73 616d 706c 652f 7061 7468', [[':path', '/sample/path']], [], 0],
    ['C.2.3', '1008 7061 7373 776f 7264 0673 6563 7265 74', [['password', 'secret']], [], 0],
    ['C.2.4', '82', [[':method', 'GET']], [], 0],
  ] as [string, string, Field[], Field[], number][])('%s', (_name, block, fields, table, size) => {
    const d = new HpackDecoder();
    expect(decodeAll(d, hex(block))).toEqual(fields);
    expect(d.tableEntriesForTest()).toEqual({ entries: table, size });
  });

  type Step = { block: string; fields: Field[]; table: Field[]; size: number };
  const www: Field = [':authority', 'www.example.com'];
  const requests = (blocks: [string, string, string]): Step[] => [
    {
      block: blocks[0],
      fields: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], www],
      table: [www],
      size: 57,
    },
    {
      block: blocks[1],
      fields: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], www, ['cache-control', 'no-cache']],
      table: [['cache-control', 'no-cache'], www],
      size: 110,
    },
    {
      block: blocks[2],
      fields: [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], www, ['custom-key', 'custom-value']],
      table: [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], www],
      size: 164,
    },
  ];
  const date1: Field = ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'];
  const date2: Field = ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'];
  const loc: Field = ['location', 'https://www.example.com'];
  const priv: Field = ['cache-control', 'private'];
  const cookie: Field = ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'];
  const responses = (blocks: [string, string, string]): Step[] => [
    {
      block: blocks[0],
      fields: [[':status', '302'], priv, date1, loc],
      table: [loc, date1, priv, [':status', '302']],
      size: 222,
    },
    {
      block: blocks[1],
      fields: [[':status', '307'], priv, date1, loc],
      table: [[':status', '307'], loc, date1, priv],
      size: 222,
    },
    {
      block: blocks[2],
      fields: [[':status', '200'], priv, date2, loc, ['content-encoding', 'gzip'], cookie],
      table: [cookie, ['content-encoding', 'gzip'], date2],
      size: 215,
    },
  ];

  // Each series shares one decoder: later blocks reference (and evict) earlier entries.
  it.each([
    [
      'C.3 requests without Huffman',
      4096,
      requests([
        '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
        '8286 84be 5808 6e6f 2d63 6163 6865',
        '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
      ]),
    ],
    [
      'C.4 requests with Huffman',
      4096,
      requests([
        '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
        '8286 84be 5886 a8eb 1064 9cbf',
        '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
      ]),
    ],
    [
      'C.5 responses without Huffman, 256-octet table',
      256,
      responses([
        `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
         2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
         6c65 2e63 6f6d`,
        '4803 3330 37c1 c0bf',
        `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
         54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
         5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
         3d31`,
      ]),
    ],
    [
      'C.6 responses with Huffman, 256-octet table',
      256,
      responses([
        `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
         2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
        '4883 640e ffc1 c0bf',
        `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
         77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
         9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
      ]),
    ],
  ] as [string, number, Step[]][])('%s', (_name, tableSize, steps) => {
    const d = new HpackDecoder(tableSize);
    for (const step of steps) {
      expect(decodeAll(d, hex(step.block))).toEqual(step.fields);
      expect(d.tableEntriesForTest()).toEqual({ entries: step.table, size: step.size });
    }
  });

  it('decodes a Uint8Array that is a view into a larger buffer', () => {
    const backing = new Uint8Array(64).fill(0xff);
    const block = hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff');
    backing.set(block, 7);
    const view = new Uint8Array(backing.buffer, 7, block.length);
    expect(decodeAll(new HpackDecoder(), view)).toEqual([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], www]);
  });

  it('keeps the table consistent across many insertions and evictions', () => {
    // Wrap the ring many times; every block references the entry the previous one added.
    const d = new HpackDecoder(200);
    for (let i = 0; i < 500; i++) {
      const value = `v${i}`.padEnd(1 + (i % 40), 'x');
      const fields = decodeAll(d, Buffer.concat([Buffer.from([0x40, 1, 0x6e, value.length]), Buffer.from(value)]));
      expect(fields).toEqual([['n', value]]);
      expect(decodeAll(d, Buffer.from([0xbe]))).toEqual([['n', value]]);
      const { entries, size } = d.tableEntriesForTest();
      expect(size).toBe(entries.reduce((s, [n, v]) => s + n.length + v.length + 32, 0));
      expect(size).toBeLessThanOrEqual(200);
    }
  });
});

describe('huffman', () => {
  it('encodes the RFC example and round-trips every octet', () => {
    const out = Buffer.alloc(64);
    const n = huffmanEncode('www.example.com', out, 0);
    expect(out.subarray(0, n).toString('hex')).toBe('f1e3c2e5f23a6ba0ab90f4ff');
    expect(huffmanEncodedLength('www.example.com')).toBe(12);

    const rand = rng(7);
    for (let round = 0; round < 200; round++) {
      let s = '';
      const len = round < 10 ? round : Math.floor(rand() * 100);
      for (let i = 0; i < len; i++) s += String.fromCharCode(round === 10 ? i : Math.floor(rand() * 256));
      if (round === 10) for (let c = 0; c < 256; c++) s += String.fromCharCode(c);
      const enc = Buffer.alloc(huffmanEncodedLength(s));
      expect(huffmanEncode(s, enc, 0)).toBe(enc.length);
      const dec = Buffer.alloc(huffmanDecodedMaxLength(enc.length));
      const m = huffmanDecode(enc, 0, enc.length, dec);
      expect(dec.toString('latin1', 0, m)).toBe(s);
    }
  });
});

describe('HpackDecoder: malformed input', () => {
  it.each([
    ['index 0', '80', /index 0/],
    ['index past the empty dynamic table', 'be', /index 62 past the end/],
    ['multi-octet index past the table', 'ff 00', /index 127 past the end/],
    ['literal name index past the table', '7e 01 61', /index 62 past the end/],
    ['truncated integer', 'ff', /truncated integer/],
    ['truncated integer continuation', 'ff 80', /truncated integer/],
    ['integer overflow', 'ff ff ff ff ff 0f', /integer overflow/],
    ['over-long integer padding', 'ff 80 80 80 80 80 80 80 00', /integer overflow/],
    ['literal without a value', '40 01 61', /truncated string/],
    ['string length past the end', '40 05 61', /past the end of the block/],
    ['huffman padding longer than 7 bits', '40 01 61 82 1f ff', /invalid huffman/],
    ['huffman padding not all ones', '40 01 61 81 1e', /invalid huffman/],
    ['huffman string containing EOS', '40 01 61 85 ff ff ff fc 7f', /invalid huffman/],
    ['size update above the maximum', '3f e2 1f', /above the maximum 4096/],
    ['size update after a field', '82 20', /after a header field/],
  ])('%s', (_name, block, message) => {
    const d = new HpackDecoder(4096);
    let err: unknown;
    try {
      d.decode(hex(block), () => {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HpackError);
    expect((err as Error).message).toMatch(message);
  });

  it('accepts what the malformed cases are near to', () => {
    const d = new HpackDecoder(4096);
    // 'a' (00011) with 3 bits of padding; the maximum size update; updates before fields.
    expect(decodeAll(d, hex('40 01 61 81 1f'))).toEqual([['a', 'a']]);
    expect(d.tableEntriesForTest().entries).toEqual([['a', 'a']]);
    // An update to 0 empties the table; raising it again does not bring entries back.
    expect(decodeAll(d, hex('3f e1 1f 20 3f e1 1f 82'))).toEqual([[':method', 'GET']]);
    expect(d.tableEntriesForTest()).toEqual({ entries: [], size: 0 });
    expect(() => d.decode(hex('be'), () => {})).toThrow(HpackError);
  });

  it('rejects a header list above maxHeaderListSize but keeps the table in step', () => {
    const d = new HpackDecoder(4096, 100);
    const seen: Field[] = [];
    // Three :method GET (42 octets each) and a+b (34): 160 octets; the literal past the limit is still indexed.
    expect(() => d.decode(hex('82 82 82 40 01 61 01 62'), (n, v) => seen.push([n, v]))).toThrow(
      new HpackError('hpack: header list too large: 160 octets, limit 100'),
    );
    expect(seen).toEqual([[':method', 'GET'], [':method', 'GET']]);
    expect(decodeAll(d, hex('be'))).toEqual([['a', 'b']]);
  });

  it('either decodes or throws HpackError on random blocks', () => {
    const rand = rng(20261207);
    const seeds = [
      hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'),
      hex('4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6'),
      hex('88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab'),
    ];
    const d = new HpackDecoder(256, 4096);
    let decoded = 0;
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      let block: Buffer;
      if (i % 2 === 0) {
        // Pure noise.
        block = Buffer.alloc(Math.floor(rand() * 48));
        for (let j = 0; j < block.length; j++) block[j] = Math.floor(rand() * 256);
      } else {
        // A valid block with a few octets flipped, to get past the first field.
        block = Buffer.from(seeds[i % seeds.length]);
        for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) block[Math.floor(rand() * block.length)] ^= 1 << Math.floor(rand() * 8);
      }
      try {
        d.decode(block, () => {});
        decoded++;
      } catch (e) {
        if (!(e instanceof HpackError)) throw new Error(`block ${block.toString('hex')}: ${String(e)}`, { cause: e });
        rejected++;
      }
    }
    expect(decoded).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});

describe('encodeHeaders', () => {
  it('indexes exact static matches and names static entries by index', () => {
    expect(encodeHeaders([[':status', '200']]).toString('hex')).toBe('88');
    expect(encodeHeaders([[':status', '201']]).toString('hex')).toBe('08' + '03' + Buffer.from('201').toString('hex'));
    // content-type is static index 31: 15 in the 4-bit prefix, 16 in one continuation octet.
    expect(encodeHeaders([['content-type', 'application/grpc']]).toString('hex')).toBe(
      '0f10' + '10' + Buffer.from('application/grpc').toString('hex'),
    );
    expect(encodeHeaders([['grpc-status', '0']]).toString('hex')).toBe('000b' + Buffer.from('grpc-status').toString('hex') + '0130');
  });

  it('round-trips through the decoder without touching its table', () => {
    const fields: Field[] = [
      [':status', '200'],
      [':authority', ''],
      ['accept-encoding', 'gzip, deflate'],
      ['content-type', 'application/grpc'],
      ['grpc-message', 'x'.repeat(127)],
      ['grpc-status-details-bin', 'y'.repeat(5000)],
      ['x-latin1', 'caf\u00e9 \u00ff\u0080'],
      ['x-'.padEnd(200, 'n'), ''],
    ];
    const d = new HpackDecoder();
    expect(decodeAll(d, encodeHeaders(fields))).toEqual(fields);
    expect(d.tableEntriesForTest()).toEqual({ entries: [], size: 0 });
  });
});

// --- interop with node:http2 (nghttp2) over a raw socket ---

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const FRAME_HEADERS = 0x1;
const FRAME_SETTINGS = 0x4;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([frameHeader(payload.length, type, flags, streamId), payload]);
}

/** A server speaking raw HTTP/2 frames: it reads the client preface and reassembles header blocks. */
class RawH2Server {
  readonly server: Server;
  readonly blocks: { streamId: number; block: Buffer }[] = [];

  constructor(private readonly onBlock: (socket: Socket, streamId: number, block: Buffer) => void = () => {}) {
    this.server = createServer((socket) => this.serve(socket));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private serve(socket: Socket): void {
    socket.write(frame(FRAME_SETTINGS, 0, 0));
    let buf = Buffer.alloc(0);
    let sawPreface = false;
    let pending: { streamId: number; parts: Buffer[] } | undefined;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!sawPreface) {
        if (buf.length < PREFACE.length) return;
        if (buf.toString('latin1', 0, PREFACE.length) !== PREFACE) throw new Error('bad client preface');
        buf = buf.subarray(PREFACE.length);
        sawPreface = true;
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3];
        const flags = buf[4];
        const streamId = buf.readUInt32BE(5) & 0x7fffffff;
        let payload = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        if (type === FRAME_SETTINGS && !(flags & FLAG_ACK)) socket.write(frame(FRAME_SETTINGS, FLAG_ACK, 0));
        if (type === FRAME_HEADERS) {
          if (flags & FLAG_PADDED) payload = payload.subarray(1, payload.length - payload[0]);
          if (flags & FLAG_PRIORITY) payload = payload.subarray(5);
          pending = { streamId, parts: [] };
        }
        if (type === FRAME_HEADERS || type === FRAME_CONTINUATION) {
          pending!.parts.push(Buffer.from(payload));
          if (flags & FLAG_END_HEADERS) {
            const block = Buffer.concat(pending!.parts);
            this.blocks.push({ streamId: pending!.streamId, block });
            this.onBlock(socket, pending!.streamId, block);
            pending = undefined;
          }
        }
      }
    });
  }
}

describe('interop with node:http2', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  function track(server: RawH2Server, session: ClientHttp2Session): void {
    session.on('error', () => {});
    cleanups.push(() => {
      session.destroy();
      server.server.close();
    });
  }

  it('decodes the header blocks of nghttp2 requests sharing its dynamic table', async () => {
    const raw = new RawH2Server();
    const address = await raw.listen();
    const session = connect(`http://${address}`);
    track(raw, session);

    const rand = rng(1);
    const sent: Record<string, string>[] = [];
    for (let i = 0; i < 8; i++) {
      const headers: Record<string, string> = {
        ':method': 'POST',
        ':path': '/thanos.Store/Series',
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${119999 - i}m`,
        'user-agent': 'grpc-node-js/1.9.0',
        // Lowercase letters and digits have 5-6 bit codes; nghttp2 Huffman-codes these.
        'x-huffman-friendly': 'aaaaaaaaaaeeeeeeeeeeiiiiiiiiii0000000000',
        // Symbols with 13-15 bit codes: Huffman would be longer, so these go raw.
        'x-huffman-hostile': '{}{}{}^^^~~~|||<<<>>>'.repeat(3),
        // Octets ≥ 0x80 travel as latin1 chars.
        'x-latin1': `caf\u00e9 \u00ff\u0080\u00a0 ${i % 2}`,
        'x-long': 'l'.repeat(300),
        'x-per-request': String(Math.floor(rand() * 1e9)),
      };
      sent.push(headers);
      session.request(headers, { endStream: true }).on('error', () => {});
    }
    await waitFor(() => raw.blocks.length >= sent.length, { what: 'request header blocks', timeoutMs: 10_000 });

    const d = new HpackDecoder();
    for (let i = 0; i < sent.length; i++) {
      const got = decodeAll(d, raw.blocks[i].block);
      const want = Object.entries({ ':scheme': 'http', ':authority': address, ...sent[i] });
      expect(got.slice().sort(byName)).toEqual(want.sort(byName));
      expect(raw.blocks[i].streamId).toBe(2 * i + 1);
    }
    // The first block Huffman-codes some strings (it is shorter than its raw text) and later
    // blocks mostly reference the dynamic table (far shorter than the first).
    const rawLength = Object.entries(sent[0]).reduce((s, [n, v]) => s + n.length + v.length, 0);
    expect(raw.blocks[0].block.length).toBeLessThan(rawLength);
    expect(raw.blocks[2].block.length).toBeLessThan(raw.blocks[0].block.length / 4);
    expect(d.tableEntriesForTest().entries.length).toBeGreaterThan(5);
  });

  it('sends response headers from encodeHeaders that nghttp2 accepts', async () => {
    const fields: Field[] = [
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['grpc-status', '0'],
      ['grpc-message', 'm'.repeat(200)],
      ['x-latin1', 'caf\u00e9 \u00ff'],
      ['date', 'Mon, 07 Dec 2026 14:00:00 GMT'],
    ];
    const raw = new RawH2Server((socket, streamId) => {
      socket.write(frame(FRAME_HEADERS, FLAG_END_STREAM | FLAG_END_HEADERS, streamId, encodeHeaders(fields)));
    });
    const address = await raw.listen();
    const session = connect(`http://${address}`);
    track(raw, session);

    const req = session.request({ ':method': 'POST', ':path': '/thanos.Store/Info' }, { endStream: true });
    const [headers, ended] = await Promise.all([
      new Promise<IncomingHttpHeaders>((resolve, reject) => {
        req.on('response', resolve);
        req.on('error', reject);
      }),
      new Promise<void>((resolve) => {
        req.on('end', resolve);
        req.resume();
      }),
    ]);
    void ended;
    expect(Object.fromEntries(Object.entries(headers))).toEqual({
      ':status': 200, // node parses :status into a number
      'content-type': 'application/grpc',
      'grpc-status': '0',
      'grpc-message': 'm'.repeat(200),
      'x-latin1': 'caf\u00e9 \u00ff',
      date: 'Mon, 07 Dec 2026 14:00:00 GMT',
    });
  });
});

function byName(a: readonly [string, string], b: readonly [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
