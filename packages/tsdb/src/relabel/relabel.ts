// Applying relabel rules (Prometheus model/relabel.ProcessBuilder), rule by rule on one
// label builder with the semantics of Prometheus's labels.Builder.
import { createHash } from 'node:crypto';
import { compareStrings, getLabel, type Label, type Labels } from '../labels/index.js';
import { goToLower, goToUpper } from './go-case.js';
import { isValidLabelName, type RelabelConfig } from './relabel-config.js';

/**
 * Applies the rules in order to lbls. Returns null when a rule drops the label set, else
 * the resulting labels sorted by name, without labels whose value is empty (which may be
 * an empty set: Thanos's block selectors treat that as dropped too). lbls is not modified.
 */
export function relabel(lbls: Labels, cfgs: readonly RelabelConfig[]): Labels | null {
  const b = new LabelsBuilder(lbls);
  for (const cfg of cfgs) {
    if (!applyRule(cfg, b)) return null;
  }
  return b.labels();
}

/**
 * Prometheus's labels.Builder: the base labels plus ordered additions and deletions. The
 * order matters where labelmap writes one name twice: Range visits the unchanged base
 * labels first, then the additions in the order they were first set, and the last write
 * wins.
 */
class LabelsBuilder {
  private readonly base: Labels;
  private add: Label[] = [];
  private del: string[] = [];

  constructor(base: Labels) {
    this.base = base;
  }

  get(name: string): string {
    // del is checked after add: set() does not remove a name from del.
    for (const a of this.add) if (a.name === name) return a.value;
    if (this.del.includes(name)) return '';
    return getLabel(this.base, name);
  }

  set(name: string, value: string): void {
    if (value === '') {
      this.delete(name);
      return;
    }
    for (const a of this.add) {
      if (a.name === name) {
        a.value = value;
        return;
      }
    }
    this.add.push({ name, value });
  }

  delete(name: string): void {
    this.add = this.add.filter((a) => a.name !== name);
    this.del.push(name);
  }

  /** Visits the current labels; later set/delete calls do not affect the visit. */
  range(f: (name: string, value: string) => void): void {
    const add = this.add.map((a) => ({ name: a.name, value: a.value }));
    const del = this.del.slice();
    for (const l of this.base) {
      if (!del.includes(l.name) && !add.some((a) => a.name === l.name)) f(l.name, l.value);
    }
    for (const a of add) f(a.name, a.value);
  }

  labels(): Labels {
    const out: Label[] = [];
    for (const l of this.base) {
      if (l.value !== '' && !this.del.includes(l.name) && !this.add.some((a) => a.name === l.name)) out.push(l);
    }
    if (this.add.length === 0) return out; // base order is already sorted
    for (const a of this.add) out.push(a);
    return out.sort((x, y) => compareStrings(x.name, y.name));
  }
}

/** Applies one rule; false when it drops the label set. */
function applyRule(cfg: RelabelConfig, b: LabelsBuilder): boolean {
  let val: string;
  const src = cfg.sourceLabels;
  if (src.length === 1) val = b.get(src[0]);
  else {
    val = '';
    for (let i = 0; i < src.length; i++) val += (i > 0 ? cfg.separator : '') + b.get(src[i]);
  }

  switch (cfg.action) {
    case 'drop':
      return !cfg.regex.matchString(val);
    case 'keep':
      return cfg.regex.matchString(val);
    case 'dropequal':
      return b.get(cfg.targetLabel) !== val;
    case 'keepequal':
      return b.get(cfg.targetLabel) === val;
    case 'replace': {
      const m = cfg.regex.exec(val);
      if (!m) return true; // no match, no replacement
      const target = cfg.regex.expand(cfg.targetLabel, m);
      if (!isValidLabelName(target, cfg.nameValidationScheme)) return true;
      const res = cfg.regex.expand(cfg.replacement, m);
      if (res === '') b.delete(target);
      else b.set(target, res);
      return true;
    }
    case 'lowercase':
      b.set(cfg.targetLabel, goToLower(val));
      return true;
    case 'uppercase':
      b.set(cfg.targetLabel, goToUpper(val));
      return true;
    case 'hashmod':
      b.set(cfg.targetLabel, String(hashMod(val, cfg.modulus)));
      return true;
    case 'labelmap':
      b.range((name, value) => {
        const m = cfg.regex.exec(name);
        // The regex is anchored, so Go's ReplaceAllString replaces this one match.
        if (m) b.set(cfg.regex.expand(cfg.replacement, m), value);
      });
      return true;
    case 'labeldrop':
      b.range((name) => {
        if (cfg.regex.matchString(name)) b.delete(name);
      });
      return true;
    case 'labelkeep':
      b.range((name) => {
        if (!cfg.regex.matchString(name)) b.delete(name);
      });
      return true;
    default:
      throw new Error(`relabel: unknown relabel action type ${JSON.stringify(cfg.action as string)}`);
  }
}

const TWO_POW_37 = 2 ** 37;

/**
 * Prometheus's hashmod: the last 8 bytes of md5(value) as a big-endian uint64, modulo
 * `modulus`. The uint64 is reduced 16 bits at a time in doubles, exact while
 * remainder * 2^16 stays below 2^53, i.e. for moduli below 2^37; larger ones (never
 * seen in practice) take BigInt.
 */
export function hashMod(value: string, modulus: number): number {
  const h = createHash('md5').update(value, 'utf8').digest();
  const hi = h.readUInt32BE(8);
  const lo = h.readUInt32BE(12);
  if (modulus < TWO_POW_37) {
    let r = (hi >>> 16) % modulus;
    r = (r * 0x10000 + (hi & 0xffff)) % modulus;
    r = (r * 0x10000 + (lo >>> 16)) % modulus;
    return (r * 0x10000 + (lo & 0xffff)) % modulus;
  }
  return Number(((BigInt(hi) << 32n) | BigInt(lo)) % BigInt(modulus));
}
