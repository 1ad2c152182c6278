// The types a PromQL expression can evaluate to (promql/parser/value.go).

export const ValueType = {
  None: 'none',
  Scalar: 'scalar',
  Vector: 'vector',
  Matrix: 'matrix',
  String: 'string',
} as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

/** The user-facing name of a type, as in error messages: "instant vector", "range vector". */
export function documentedType(t: ValueType): string {
  switch (t) {
    case ValueType.Vector:
      return 'instant vector';
    case ValueType.Matrix:
      return 'range vector';
    default:
      return t;
  }
}
