import { describe, expect, it } from 'vitest';
import { alertGeneratorURL, DEFAULT_ALERT_QUERY_TEMPLATE, queryEscape, tableLinkForExpression, validateQueryTemplate } from './generator-url.js';

describe('generator URL', () => {
  it("escapes as Go's url.QueryEscape", () => {
    expect(queryEscape('sum(rate(x{a="b"}[5m])) > 0.5 * 2!')).toBe('sum%28rate%28x%7Ba%3D%22b%22%7D%5B5m%5D%29%29+%3E+0.5+%2A+2%21');
  });

  it('fills the default template as Thanos does', () => {
    expect(alertGeneratorURL('http://query:9090', DEFAULT_ALERT_QUERY_TEMPLATE, 'up == 0')).toBe('http://query:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1');
    expect(tableLinkForExpression('/explore?q={{ .Expr }}&x={{- .Expr -}} y', 'a b')).toBe('/explore?q=a+b&x=a+by'); // -}} trims the space after it
  });

  it('rejects templates with other actions', () => {
    expect(() => validateQueryTemplate('/graph?g0.expr={{.Query}}')).toThrow('only {{.Expr}} is supported');
    expect(() => validateQueryTemplate('/graph?g0.expr={{.Expr}}')).not.toThrow();
  });
});
