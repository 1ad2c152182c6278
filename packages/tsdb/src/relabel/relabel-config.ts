// Relabel configuration (Prometheus model/relabel.Config): decoding of an already
// YAML-parsed list of rules with Prometheus's defaults, Go's strict-YAML field handling
// and the checks of Config.Validate, with the same error texts.
import { goQuote } from '../strconv/index.js';
import { RelabelRegexp } from './relabel-regexp.js';

/** Relabel actions; `action` in YAML is matched case-insensitively. */
export const RelabelAction = {
  /** Writes replacement (expanded with the regex groups) to target_label when the regex matches. */
  REPLACE: 'replace',
  /** Drops the series/target unless the regex matches the joined source values. */
  KEEP: 'keep',
  /** Drops the series/target when the regex matches the joined source values. */
  DROP: 'drop',
  /** Drops unless the joined source values equal target_label's value. */
  KEEP_EQUAL: 'keepequal',
  /** Drops when the joined source values equal target_label's value. */
  DROP_EQUAL: 'dropequal',
  /** Sets target_label to md5(joined source values) mod modulus. */
  HASHMOD: 'hashmod',
  /** Copies every label whose name matches the regex to the expanded replacement name. */
  LABELMAP: 'labelmap',
  /** Removes every label whose name matches the regex. */
  LABELDROP: 'labeldrop',
  /** Removes every label whose name does not match the regex. */
  LABELKEEP: 'labelkeep',
  /** Sets target_label to the joined source values in lower case. */
  LOWERCASE: 'lowercase',
  /** Sets target_label to the joined source values in upper case. */
  UPPERCASE: 'uppercase',
} as const;
export type RelabelAction = (typeof RelabelAction)[keyof typeof RelabelAction];

const ACTIONS: ReadonlySet<string> = new Set(Object.values(RelabelAction));

/**
 * How label names are validated: 'legacy' is Prometheus 2.x (`[a-zA-Z_][a-zA-Z0-9_]*`),
 * 'utf8' is Prometheus 3.x (any non-empty valid UTF-8).
 */
export type NameValidationScheme = 'legacy' | 'utf8';

/** A validated relabel rule. Create with parseRelabelConfigs(). */
export interface RelabelConfig {
  readonly sourceLabels: readonly string[];
  readonly separator: string;
  readonly regex: RelabelRegexp;
  /**
   * For hashmod. Go's uint64; limited here to 2^53-1 (exact in a JS number), far beyond
   * any shard count.
   */
  readonly modulus: number;
  readonly targetLabel: string;
  readonly replacement: string;
  readonly action: RelabelAction;
  /** Validity of the expanded target_label of replace is checked with this scheme. */
  readonly nameValidationScheme: NameValidationScheme;
}

export interface ParseRelabelOptions {
  /** Default 'legacy' (Prometheus 2.x). */
  nameValidationScheme?: NameValidationScheme;
  /**
   * Only these actions are accepted (Thanos restricts block selectors to keep, drop and
   * hashmod); others fail with `unsupported relabel action: <action>`. Default: all.
   */
  supportedActions?: readonly RelabelAction[];
}

/** An invalid relabel config. `index` is the rule's position in the list, or -1. */
export class RelabelConfigError extends Error {
  override readonly name = 'RelabelConfigError';
  constructor(
    readonly source: string,
    readonly index: number,
    /** The reason alone, worded as Prometheus words it. */
    readonly reason: string,
  ) {
    super(index >= 0 ? `${source}[${index}]: ${reason}` : `${source}: ${reason}`);
  }
}

export const DEFAULT_SEPARATOR = ';';
export const DEFAULT_REPLACEMENT = '$1';
/**
 * The regex of a rule without a `regex` field. Identity matters as in Prometheus: an
 * explicit `regex: (.*)` is a different regex for the keepequal/dropequal check.
 */
export const DEFAULT_RELABEL_REGEX: RelabelRegexp = RelabelRegexp.compile('(.*)');

const FIELDS = ['source_labels', 'separator', 'regex', 'modulus', 'target_label', 'replacement', 'action'];

const LEGACY_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Prometheus's IsValidLabelName for the scheme. */
export function isValidLabelName(name: string, scheme: NameValidationScheme = 'legacy'): boolean {
  if (scheme === 'legacy') return LEGACY_NAME.test(name);
  return name.length > 0 && !LONE_SURROGATE.test(name);
}

/**
 * Prometheus's relabelTargetLegacy, `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`: a label
 * name in which `$var` / `${var}` references may stand for characters. Scanned by hand:
 * the nested quantifiers of the original backtrack exponentially in JavaScript.
 */
export function isValidTargetTemplate(s: string): boolean {
  let i = 0;
  const n = s.length;
  if (n === 0) return false;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x24) {
      // $name or ${name}
      let j = i + 1;
      const brace = s.charCodeAt(j) === 0x7b;
      if (brace) j++;
      const start = j;
      while (j < n && isWordChar(s.charCodeAt(j))) j++;
      if (j === start) return false;
      if (brace) {
        if (s.charCodeAt(j) !== 0x7d) return false;
        j++;
      }
      i = j;
      continue;
    }
    // Only letters and '_' may start the string; digits may follow.
    if (!isWordChar(c) || (i === 0 && c >= 0x30 && c <= 0x39)) return false;
    i++;
  }
  return true;
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** YAML tag of a decoded value, for Go-style type errors. */
function yamlTag(v: unknown): string {
  if (typeof v === 'string') return '!!str';
  if (typeof v === 'boolean') return '!!bool';
  if (typeof v === 'bigint') return '!!int';
  if (typeof v === 'number') return Number.isInteger(v) ? '!!int' : '!!float';
  if (Array.isArray(v)) return '!!seq';
  return '!!map';
}

function typeError(v: unknown, into: string): string {
  const tag = yamlTag(v);
  // Go shows the text of scalars, not of collections.
  return tag === '!!seq' || tag === '!!map'
    ? `cannot unmarshal ${tag} into ${into}`
    : `cannot unmarshal ${tag} \`${String(v)}\` into ${into}`;
}

function isScalar(v: unknown): v is string | number | boolean | bigint {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint';
}

/**
 * Go's yaml.v2 decoding of a scalar into a string: any scalar gives its text, null the
 * zero value. (Numbers come back via String(), so `1.0` reads as "1": quote such values.)
 */
function decodeString(v: unknown, field: string, errs: string[]): string {
  if (v === null || v === undefined) return '';
  if (isScalar(v)) return String(v);
  errs.push(`${field}: ${typeError(v, 'string')}`);
  return '';
}

/**
 * Parses a YAML-decoded list of relabel rules (as the `yaml` package produces) the way
 * Prometheus and Thanos load `relabel_configs`, `--selector.relabel-config` and friends:
 * absent fields take Prometheus's defaults (separator ';', regex '(.*)', replacement '$1',
 * action 'replace'), unknown fields are rejected as Go's strict YAML does, and each rule
 * is validated with Prometheus's messages. null or undefined is an empty list.
 *
 * @throws RelabelConfigError naming `source` and the rule's index
 */
export function parseRelabelConfigs(
  raw: unknown,
  source = 'relabel config',
  options: ParseRelabelOptions = {},
): RelabelConfig[] {
  if (raw === null || raw === undefined) return [];
  if (!Array.isArray(raw)) throw new RelabelConfigError(source, -1, typeError(raw, '[]*relabel.Config'));
  const scheme = options.nameValidationScheme ?? 'legacy';
  const out: RelabelConfig[] = [];
  for (let i = 0; i < raw.length; i++) {
    let cfg: RelabelConfig;
    try {
      cfg = parseOne(raw[i], scheme);
    } catch (e) {
      if (e instanceof ConfigReason) throw new RelabelConfigError(source, i, e.message);
      throw e;
    }
    if (options.supportedActions && !options.supportedActions.includes(cfg.action)) {
      throw new RelabelConfigError(source, i, `unsupported relabel action: ${cfg.action}`);
    }
    out.push(cfg);
  }
  return out;
}

/** Internal: a failure of one rule, wrapped by parseRelabelConfigs with its position. */
class ConfigReason extends Error {}

function parseOne(v: unknown, scheme: NameValidationScheme): RelabelConfig {
  if (v === null || v === undefined) {
    // Prometheus refuses these in its config loader; Thanos would crash on them.
    throw new ConfigReason('empty or null relabeling rule');
  }
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigReason(typeError(v, 'relabel.plain'));

  // Go's decoder fails at once on errors from custom unmarshalers (action, regex, label
  // names) but collects type mismatches and unknown fields and reports them after the
  // whole rule. Validation runs only on a rule that decoded cleanly.
  const errs: string[] = [];
  let sourceLabels: string[] | null = null; // null: nil (absent or null), which labeldrop needs
  let separator = DEFAULT_SEPARATOR;
  let regex = DEFAULT_RELABEL_REGEX;
  let modulus = 0;
  let targetLabel = '';
  let replacement = DEFAULT_REPLACEMENT;
  let action: string = RelabelAction.REPLACE;

  const entries: [unknown, unknown][] =
    v instanceof Map ? [...(v as Map<unknown, unknown>).entries()] : Object.entries(v as Record<string, unknown>);
  for (const [k, val] of entries) {
    const key = String(k);
    switch (key) {
      case 'source_labels':
        if (val === null || val === undefined) sourceLabels = null;
        else if (!Array.isArray(val)) errs.push(`source_labels: ${typeError(val, 'model.LabelNames')}`);
        else {
          sourceLabels = [];
          for (const item of val) {
            // A null item is an empty name: yaml.v2 skips the LabelName unmarshaler for it.
            if (item === null || item === undefined) {
              sourceLabels.push('');
              continue;
            }
            if (!isScalar(item)) {
              errs.push(`source_labels: ${typeError(item, 'string')}`);
              continue;
            }
            const name = String(item);
            if (!isValidLabelName(name, scheme)) throw new ConfigReason(`${goQuote(name)} is not a valid label name`);
            sourceLabels.push(name);
          }
        }
        break;
      case 'separator':
        separator = decodeString(val, key, errs);
        break;
      case 'regex': {
        // null leaves Go's Regexp unset, which Prometheus replaces with an empty regex.
        if (val !== null && val !== undefined && !isScalar(val)) {
          errs.push(`regex: ${typeError(val, 'string')}`);
          break;
        }
        const src = val === null || val === undefined ? '' : String(val);
        try {
          regex = RelabelRegexp.compile(src);
        } catch (e) {
          throw new ConfigReason((e as Error).message);
        }
        break;
      }
      case 'modulus':
        modulus = decodeModulus(val, errs);
        break;
      case 'target_label':
        targetLabel = decodeString(val, key, errs);
        break;
      case 'replacement':
        replacement = decodeString(val, key, errs);
        break;
      case 'action': {
        // null leaves the action empty ("cannot be empty" below); any other value,
        // even "", goes through Go's Action unmarshaler.
        const s = decodeString(val, key, errs);
        const a = s.toLowerCase();
        if (val !== null && val !== undefined && isScalar(val) && !ACTIONS.has(a)) {
          throw new ConfigReason(`unknown relabel action ${goQuote(s)}`);
        }
        action = a;
        break;
      }
      default:
        // Go: "field <key> not found in type relabel.plain".
        errs.push(`unknown field ${goQuote(key)} (valid fields: ${FIELDS.join(', ')})`);
    }
  }
  if (errs.length > 0) throw new ConfigReason(errs.join('; '));

  const cfg: RelabelConfig = {
    sourceLabels: sourceLabels ?? [],
    separator,
    regex,
    modulus,
    targetLabel,
    replacement,
    action: action as RelabelAction,
    nameValidationScheme: scheme,
  };
  const reason = validate(cfg, sourceLabels !== null);
  if (reason) throw new ConfigReason(reason);
  return cfg;
}

/** Go's yaml.v2 decoding into uint64: floats are truncated, negatives and non-numbers refused. */
function decodeModulus(v: unknown, errs: string[]): number {
  if (v === null || v === undefined) return 0;
  let n: number;
  if (typeof v === 'bigint') {
    if (v < 0n) {
      errs.push(`modulus: ${typeError(v, 'uint64')}`);
      return 0;
    }
    n = v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
  } else if (typeof v === 'number' && !Number.isNaN(v) && v >= 0) {
    n = Math.trunc(v);
  } else {
    errs.push(`modulus: ${typeError(v, 'uint64')}`);
    return 0;
  }
  if (n > Number.MAX_SAFE_INTEGER) {
    errs.push(`modulus: ${String(v)} is above 2^53-1, which is not supported`);
    return 0;
  }
  return n;
}

/** Config.Validate of Prometheus (newest), in its order and with its messages. */
function validate(c: RelabelConfig, sourceLabelsSet: boolean): string | null {
  const a = c.action as string;
  const scheme = c.nameValidationScheme;
  const hasVar = (s: string): boolean => s.includes('$');
  const validWithVar = (s: string): boolean =>
    scheme === 'utf8' ? isValidLabelName(s, scheme) : isValidTargetTemplate(s);
  const invalidTarget = `${goQuote(c.targetLabel)} is invalid 'target_label' for ${a} action`;
  const eqOrCase = a === 'lowercase' || a === 'uppercase' || a === 'keepequal' || a === 'dropequal';

  if (a === '') return 'relabel action cannot be empty';
  if (c.modulus === 0 && a === 'hashmod') return 'relabel configuration for hashmod requires non-zero modulus';
  if ((a === 'replace' || a === 'hashmod' || eqOrCase) && c.targetLabel === '') {
    return `relabel configuration for ${a} action requires 'target_label' value`;
  }
  if (a === 'replace' && !hasVar(c.targetLabel) && !isValidLabelName(c.targetLabel, scheme)) return invalidTarget;
  if (a === 'replace' && hasVar(c.targetLabel) && !validWithVar(c.targetLabel)) return invalidTarget;
  if (eqOrCase && !isValidLabelName(c.targetLabel, scheme)) return invalidTarget;
  if (eqOrCase && c.replacement !== DEFAULT_REPLACEMENT) return `'replacement' can not be set for ${a} action`;
  if (a === 'labelmap' && !validWithVar(c.replacement)) {
    return `${goQuote(c.replacement)} is invalid 'replacement' for ${a} action`;
  }
  if (a === 'hashmod' && !isValidLabelName(c.targetLabel, scheme)) return invalidTarget;
  if (
    (a === 'keepequal' || a === 'dropequal') &&
    (c.regex !== DEFAULT_RELABEL_REGEX ||
      c.modulus !== 0 ||
      c.separator !== DEFAULT_SEPARATOR ||
      c.replacement !== DEFAULT_REPLACEMENT)
  ) {
    return `${a} action requires only 'source_labels' and \`target_label\`, and no other fields`;
  }
  if (
    (a === 'labeldrop' || a === 'labelkeep') &&
    (sourceLabelsSet ||
      c.targetLabel !== '' ||
      c.modulus !== 0 ||
      c.separator !== DEFAULT_SEPARATOR ||
      c.replacement !== DEFAULT_REPLACEMENT)
  ) {
    return `${a} action requires only 'regex', and no other fields`;
  }
  return null;
}

/**
 * The rule as Prometheus marshals it (field names of the YAML/JSON config; fields at
 * their zero value omitted, the default regex omitted), so that parseRelabelConfigs reads
 * it back to the same rule. For meta.json's `relabels_applied` and for logging.
 */
export function relabelConfigToObject(c: RelabelConfig): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (c.sourceLabels.length > 0) o.source_labels = [...c.sourceLabels];
  o.separator = c.separator;
  if (c.regex !== DEFAULT_RELABEL_REGEX) o.regex = c.regex.source;
  if (c.modulus !== 0) o.modulus = c.modulus;
  if (c.targetLabel !== '') o.target_label = c.targetLabel;
  o.replacement = c.replacement;
  o.action = c.action;
  return o;
}
