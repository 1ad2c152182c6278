// A tiny authoritative DNS server on loopback UDP for tests: A, AAAA and SRV answers from
// a table the test changes as it goes, NXDOMAIN for names not in it, SERVFAIL for every
// question while `failing` is set. Just enough of RFC 1035 for node's resolver (c-ares):
// one question per message, answers naming the question by a pointer, TTL 0.

import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';

export interface TestDNSRecords {
  a?: string[];
  aaaa?: string[];
  srv?: { target: string; port: number; priority?: number; weight?: number }[];
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_SRV = 33;
const CLASS_IN = 1;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;

const canon = (name: string): string => name.toLowerCase().replace(/\.+$/, '');

export class TestDNSServer {
  /** Records by name (no trailing dot, any case). */
  readonly records = new Map<string, TestDNSRecords>();
  /** Answer SERVFAIL to everything. */
  failing = false;
  /** Questions seen, as "TYPE name". */
  readonly queries: string[] = [];
  private socket: Socket | null = null;
  private port = 0;

  /** IP:PORT, for dns.Resolver#setServers. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  set(name: string, recs: TestDNSRecords): void {
    this.records.set(canon(name), recs);
  }

  delete(name: string): void {
    this.records.delete(canon(name));
  }

  async start(): Promise<void> {
    const s = createSocket('udp4');
    s.on('message', (msg, rinfo) => {
      const reply = this.answer(msg);
      if (reply) s.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve());
    });
    this.socket = s;
    this.port = s.address().port;
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  private answer(msg: Buffer): Buffer | null {
    if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return null;
    // The question: labels up to the zero byte, then type and class.
    const labels: string[] = [];
    let off = 12;
    while (off < msg.length && msg[off] !== 0) {
      const n = msg[off];
      labels.push(msg.subarray(off + 1, off + 1 + n).toString('latin1'));
      off += 1 + n;
    }
    off += 1;
    if (off + 4 > msg.length) return null;
    const qtype = msg.readUInt16BE(off);
    const qend = off + 4;
    const name = canon(labels.join('.'));
    this.queries.push(`${qtype === TYPE_SRV ? 'SRV' : qtype === TYPE_AAAA ? 'AAAA' : qtype === TYPE_A ? 'A' : qtype} ${name}`);

    const rrs: Buffer[] = [];
    let rcode = 0;
    const recs = this.records.get(name);
    if (this.failing) rcode = RCODE_SERVFAIL;
    else if (!recs) rcode = RCODE_NXDOMAIN;
    else if (qtype === TYPE_A) {
      for (const ip of (recs.a ?? []).filter((a) => isIPv4(a))) rrs.push(rr(TYPE_A, Buffer.from(ip.split('.').map(Number))));
    } else if (qtype === TYPE_AAAA) {
      for (const ip of (recs.aaaa ?? []).filter((a) => isIPv6(a))) rrs.push(rr(TYPE_AAAA, ipv6Bytes(ip)));
    } else if (qtype === TYPE_SRV) {
      for (const r of recs.srv ?? []) {
        const head = Buffer.alloc(6);
        head.writeUInt16BE(r.priority ?? 0, 0);
        head.writeUInt16BE(r.weight ?? 0, 2);
        head.writeUInt16BE(r.port, 4);
        rrs.push(rr(TYPE_SRV, Buffer.concat([head, encodeName(r.target)])));
      }
    }
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0); // id
    // QR, AA, RD copied from the query, RA; then the response code.
    header.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(rrs.length, 6);
    return Buffer.concat([header, msg.subarray(12, qend), ...rrs]);
  }
}

/** A resource record named by a pointer to the question's name (offset 12). */
function rr(type: number, rdata: Buffer): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0xc00c, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt16BE(CLASS_IN, 4);
  b.writeUInt32BE(0, 6);
  b.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([b, rdata]);
}

function encodeName(name: string): Buffer {
  const parts = canon(name)
    .split('.')
    .filter((p) => p !== '')
    .map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}
