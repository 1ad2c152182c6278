// Template expansion as Prometheus's alerting rules do it (rules/alerting.go Eval and
// template.Expander.Expand): the `$labels`/`$externalLabels`/`$externalURL`/`$value`
// preamble joined in front of the text, missingkey=zero, Prometheus's functions, and errors
// worded "error parsing template NAME: …" / "error executing template NAME: …".
// Parsed templates are cached by name and text: rules expand the same few texts every
// evaluation.

import type { QueryFunc, TemplateData, TemplateExpander, VectorSample } from '../types.js';
import { BUILTINS } from './builtins.js';
import { execute, type FuncDef, GoError, Suspend, TemplateExecError } from './exec.js';
import { parse, TemplateParseError, type Tree } from './parse.js';
import { type FuncContext, PROMETHEUS_FUNC_NAMES, prometheusFuncs, urlPath } from './prometheus-funcs.js';
import { GoMap, GoStruct, type GoValue } from './value.js';

/** What rules/alerting.go puts in front of every label and annotation template. */
export const TEMPLATE_PREAMBLE = '{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}';

/** A parsed template set: the top-level template `name` and those it defines. */
export interface ParsedTemplate {
  readonly name: string;
  readonly trees: ReadonlyMap<string, Tree>;
}

const hasFunction = (name: string): boolean => PROMETHEUS_FUNC_NAMES.has(name) || BUILTINS.has(name);

/**
 * Parses a template as text/template does with Prometheus's functions defined. Throws
 * TemplateParseError with Go's message ("template: NAME:1: unexpected \"}\" in operand").
 */
export function parseTemplate(name: string, text: string): ParsedTemplate {
  return { name, trees: parse(name, text, hasFunction) };
}

/**
 * rulefmt's check of one label or annotation template of alert `alertName`: the preamble
 * and the text parsed under `__alert_<alertName>`. Returns the parse error, or null.
 */
export function checkAlertTemplate(alertName: string, text: string): TemplateParseError | null {
  try {
    parseTemplate(`__alert_${alertName}`, TEMPLATE_PREAMBLE + text);
    return null;
  } catch (e) {
    if (e instanceof TemplateParseError) return e;
    throw e;
  }
}

/** An expansion that failed; the message is Go's, as Prometheus logs and keeps it. */
export class TemplateExpandError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TemplateExpandError';
  }
}

/** The value Prometheus gives a label or annotation whose template failed. */
export function expandErrorText(err: unknown): string {
  return `<error expanding template: ${err instanceof Error ? err.message : String(err)}>`;
}

export interface TemplateExpanderOptions {
  /** Answers the `query` function; without it `query` fails. */
  query?: QueryFunc;
  /** `externalURL`, `$externalURL` is the caller's (TemplateData). */
  externalURL?: string;
  /** `pathPrefix`; defaults to the path of externalURL. */
  pathPrefix?: string;
  /** Most parsed templates kept (default 10000). */
  cacheSize?: number;
}

const DATA_TYPE = 'struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }';

/** Prometheus's AlertTemplateData as a Go value. */
export function alertTemplateData(d: TemplateData): GoValue {
  return new GoStruct(DATA_TYPE, {
    Labels: GoMap.ofLabels(d.labels),
    ExternalLabels: GoMap.ofLabels(d.externalLabels),
    ExternalURL: d.externalURL,
    Value: d.value,
  });
}

/** Expands templates over any Go value; the engine behind newTemplateExpander. */
export class Expander {
  private readonly cache = new Map<string, ParsedTemplate | TemplateParseError>();
  private readonly ctx: FuncContext;
  private readonly funcs: Map<string, FuncDef>;
  private readonly cacheSize: number;

  constructor(private readonly opts: TemplateExpanderOptions = {}) {
    const externalURL = opts.externalURL ?? '';
    this.ctx = {
      timeMs: 0,
      query: () => {
        throw new GoError('runtime error: invalid memory address or nil pointer dereference');
      },
      externalURL,
      pathPrefix: opts.pathPrefix ?? urlPath(externalURL),
    };
    this.funcs = new Map([...BUILTINS, ...prometheusFuncs(this.ctx)]);
    this.cacheSize = opts.cacheSize ?? 10_000;
  }

  /** Parses (or finds in the cache) a template; throws TemplateExpandError. */
  parse(name: string, text: string): ParsedTemplate {
    const key = name + '\0' + text;
    let p = this.cache.get(key);
    if (p === undefined) {
      try {
        p = parseTemplate(name, text);
      } catch (e) {
        if (!(e instanceof TemplateParseError)) throw e;
        p = e;
      }
      if (this.cache.size >= this.cacheSize) this.cache.clear();
      this.cache.set(key, p);
    }
    if (p instanceof TemplateParseError) throw new TemplateExpandError(`error parsing template ${name}: ${p.message}`, { cause: p });
    return p;
  }

  /**
   * Expands `text` (as given, no preamble) over `data` at `timeMs`. Rejects with
   * TemplateExpandError ("error executing template NAME: template: …").
   */
  async expand(name: string, text: string, data: GoValue, timeMs: number): Promise<string> {
    const parsed = this.parse(name, text);
    const answers = new Map<string, { ok: VectorSample[] } | { err: string }>();
    const query = this.opts.query;
    const lookup = (expr: string): VectorSample[] => {
      const a = answers.get(expr);
      if (a !== undefined) {
        if ('err' in a) throw new GoError(a.err);
        return a.ok;
      }
      if (query === undefined) throw new GoError('runtime error: invalid memory address or nil pointer dereference');
      throw new Suspend(
        query(expr, timeMs).then(
          (ok) => answers.set(expr, { ok }),
          (e: unknown) => answers.set(expr, { err: e instanceof Error ? e.message : String(e) }),
        ),
      );
    };
    for (;;) {
      // The executor is synchronous, so the shared context is ours until it returns.
      this.ctx.timeMs = timeMs;
      this.ctx.query = lookup;
      try {
        return execute(parsed.trees, name, data, this.funcs);
      } catch (e) {
        if (e instanceof Suspend) {
          await e.wait;
          continue;
        }
        if (e instanceof TemplateExecError) throw new TemplateExpandError(`error executing template ${name}: ${e.message}`, { cause: e });
        throw e;
      }
    }
  }
}

/**
 * A TemplateExpander for alerting rules: expands `TEMPLATE_PREAMBLE + text` under `name`
 * (Prometheus uses `__alert_<alertname>`). Text without `{{` is returned as is.
 */
export function newTemplateExpander(opts: TemplateExpanderOptions = {}): TemplateExpander {
  const e = new Expander(opts);
  return async (name: string, text: string, data: TemplateData, timeMs: number): Promise<string> => {
    if (!text.includes('{{')) return text; // fast path: the preamble prints nothing
    return e.expand(name, TEMPLATE_PREAMBLE + text, alertTemplateData(data), timeMs);
  };
}
