/** Text made safe for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** An HTML table; every cell and header is escaped. `header` rows may span columns. */
export function htmlTable(id: string, caption: string, header: { text: string; span?: number; rows?: number }[][], rows: string[][]): string {
  const head = header
    .map(
      (row) =>
        `<tr>${row.map((h) => `<th${h.span ? ` colspan="${h.span}"` : ''}${h.rows ? ` rowspan="${h.rows}"` : ''}>${escapeHtml(h.text)}</th>`).join('')}</tr>`,
    )
    .join('');
  const body = rows
    .map((row) => `<tr>${row.map((cell, i) => (i === 0 ? `<th scope="row">${escapeHtml(cell)}</th>` : `<td>${escapeHtml(cell)}</td>`)).join('')}</tr>`)
    .join('\n');
  return `<table id="${escapeHtml(id)}"><caption>${escapeHtml(caption)}</caption><thead>${head}</thead><tbody>\n${body}\n</tbody></table>`;
}

// No request leaves the page: nothing but inline styles and inline SVG is allowed.
const CONTENT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STYLE = `
body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
figure { margin: 1em 0; overflow-x: auto; } figcaption { font-weight: bold; margin-bottom: .4em; }
table { border-collapse: collapse; margin: 1em 0; } caption { text-align: left; font-weight: bold; padding-bottom: .4em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; } td { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #666; } tbody th { text-align: left; font-weight: normal; }
`;

/** A self-contained page: inline style, inline SVG, no script, no request. */
export function htmlPage(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CONTENT_POLICY}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    body,
    '</body></html>',
    '',
  ].join('\n');
}
