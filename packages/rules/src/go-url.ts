// Go's net/url escaping, shared by templates (urlquery, graphLink) and alert links.

/** Go's url.QueryEscape: space as '+', everything outside [A-Za-z0-9-_.~] percent-encoded (UTF-8). */
export function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}
