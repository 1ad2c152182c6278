/** Which component serves the UI: it decides the pages shown. */
export type UIComponent = 'query' | 'store' | 'compact' | 'rule';
