// Go values as templates see them. Go templates are typed through reflection; we carry
// just enough of Go's types to behave and fail as Go does: float64 is a JS number, int is a
// bigint (so `{{ 1 }}` and `{{ 1.0 }}` stay apart, as `eq $value 1` must fail in Go),
// strings and bools are themselves, and maps, slices, structs, times and durations are
// small classes that know their Go type name (error messages print it).

/** A Go value. `undefined` is Go's invalid reflect.Value ("<no value>"), `null` a nil. */
export type GoValue = undefined | null | string | boolean | number | bigint | GoMap | GoSlice | GoStruct | GoTime | GoDuration;

/** A map with string keys: map[string]string (labels) or map[string]interface {} (args). */
export class GoMap {
  constructor(
    readonly entries: Map<string, GoValue>,
    /** Go type of the elements; missing keys yield its zero value (missingkey=zero). */
    readonly elem: 'string' | 'interface {}',
  ) {}
  get typeName(): string {
    return `map[string]${this.elem}`;
  }
  static ofLabels(labels: Record<string, string>): GoMap {
    return new GoMap(new Map(Object.entries(labels)), 'string');
  }
}

export class GoSlice {
  constructor(
    readonly items: GoValue[],
    readonly typeName: string,
  ) {}
}

/** A struct, or a pointer to one (`ptr`): fields by name, in declaration order. */
export class GoStruct {
  constructor(
    readonly typeName: string,
    readonly fields: Record<string, GoValue>,
    readonly ptr = false,
  ) {}
}

/** time.Time (or *time.Time): nanoseconds since the epoch, always UTC. */
export class GoTime {
  constructor(
    readonly ns: bigint,
    readonly ptr = false,
  ) {}
  get typeName(): string {
    return this.ptr ? '*time.Time' : 'time.Time';
  }
}

/** time.Duration (or *time.Duration), in nanoseconds. */
export class GoDuration {
  constructor(
    readonly ns: bigint,
    readonly ptr = false,
  ) {}
  get typeName(): string {
    return this.ptr ? '*time.Duration' : 'time.Duration';
  }
}

/** Go's %T of a value ("<nil>" for nil, "" for an invalid value). */
export function typeName(v: GoValue): string {
  switch (typeof v) {
    case 'undefined':
      return '';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'number':
      return 'float64';
    case 'bigint':
      return 'int';
  }
  if (v === null) return '<nil>';
  return v.typeName;
}

/** Go's truth for if/with/and/or/not (text/template isTrue). */
export function isTrue(v: GoValue): boolean {
  switch (typeof v) {
    case 'undefined':
      return false;
    case 'string':
      return v.length > 0;
    case 'boolean':
      return v;
    case 'number':
      return v !== 0;
    case 'bigint':
      return v !== 0n;
  }
  if (v === null) return false;
  if (v instanceof GoMap) return v.entries.size > 0;
  if (v instanceof GoSlice) return v.items.length > 0;
  if (v instanceof GoDuration) return v.ptr || v.ns !== 0n;
  return true; // structs are always true, non-nil pointers too
}

/** The zero value of a map's element type. */
export function zeroOf(elem: 'string' | 'interface {}'): GoValue {
  return elem === 'string' ? '' : undefined;
}

/** Converts plain JS data into Go values (for tests and template data). */
export function fromJS(v: unknown): GoValue {
  if (v === undefined || v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint') {
    return v as GoValue;
  }
  if (v instanceof GoMap || v instanceof GoSlice || v instanceof GoStruct || v instanceof GoTime || v instanceof GoDuration) return v;
  if (Array.isArray(v)) {
    const items = v.map(fromJS);
    return new GoSlice(items, '[]' + (items.length > 0 ? typeName(items[0]) : 'interface {}'));
  }
  const entries = new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, fromJS(x)] as [string, GoValue]));
  const allStrings = [...entries.values()].every((x) => typeof x === 'string');
  return new GoMap(entries, allStrings ? 'string' : 'interface {}');
}
