/** The manager's HTML report of a check run: one self-contained file (inline CSS and SVG). */
import { compareResults, summarize } from '../checks/summary.js';
import type { CheckResult } from '../checks/types.js';

export interface ReportInput {
  runId: string;
  startedAt: string;
  results: CheckResult[];
  previous?: { runId: string; startedAt: string; results: CheckResult[] };
  /** Earlier overall scores, oldest first, for the trend line. */
  history?: Array<{ startedAt: string; score: number | null }>;
  /** Base URL of the FHIR API for drill-down links (default: relative "fhir/"). */
  fhirBase?: string;
}

const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmt = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : `${n}%`);

function bars(rows: Array<{ label: string; value: number; max: number; color: string }>): string {
  const h = rows.length * 26 + 10;
  const inner = rows
    .map((r, i) => {
      const w = r.max ? Math.max(1, Math.round((r.value / r.max) * 300)) : 0;
      return `<text x="0" y="${i * 26 + 20}" font-size="12">${esc(r.label)}</text><rect x="170" y="${i * 26 + 6}" width="${w}" height="18" fill="${r.color}"/><text x="${176 + w}" y="${i * 26 + 20}" font-size="12">${r.value}</text>`;
    })
    .join('');
  return `<svg role="img" width="560" height="${h}" xmlns="http://www.w3.org/2000/svg">${inner}</svg>`;
}

function trend(points: Array<{ startedAt: string; score: number | null }>): string {
  const pts = points.filter((p) => p.score !== null);
  if (pts.length < 2) return '<p>Trend: not enough runs yet.</p>';
  const step = 400 / (pts.length - 1);
  const path = pts.map((p, i) => `${i ? 'L' : 'M'}${Math.round(i * step) + 20},${Math.round(110 - (p.score! / 100) * 100)}`).join(' ');
  const dots = pts.map((p, i) => `<circle cx="${Math.round(i * step) + 20}" cy="${Math.round(110 - (p.score! / 100) * 100)}" r="3"><title>${esc(p.startedAt)}: ${p.score}%</title></circle>`).join('');
  return `<svg role="img" width="440" height="120" xmlns="http://www.w3.org/2000/svg"><path d="${path}" fill="none" stroke="#2b6cb0" stroke-width="2"/>${dots}</svg>`;
}

export function renderReportHtml(input: ReportInput): string {
  const s = summarize(input.results);
  const prev = input.previous ? summarize(input.previous.results) : undefined;
  const changes = compareResults(input.previous?.results, input.results);
  const fhir = input.fhirBase ?? 'fhir/';
  const failing = input.results.filter((r) => r.status === 'failed').sort((a, b) => (a.severity === b.severity ? b.numerator - a.numerator : a.severity === 'error' ? -1 : b.severity === 'error' ? 1 : a.severity === 'warning' ? -1 : 1));
  const delta = (a: number | null, b: number | null | undefined): string => (a === null || b === null || b === undefined ? '' : ` (${a - b >= 0 ? '+' : ''}${Math.round((a - b) * 10) / 10} vs previous)`);
  const catRows = Object.entries(s.byCategory)
    .map(([c, v]) => `<tr><td>${esc(c)}</td><td>${v.passed}</td><td>${v.failed}</td><td>${v.notApplicable}</td><td>${v.errors}</td><td>${fmt(v.score)}${esc(delta(v.score, prev?.byCategory[c]?.score))}</td></tr>`)
    .join('');
  const change = new Map(changes.map((c) => [c.checkId, c]));
  const failRows = failing
    .map((r) => {
      const c = change.get(r.checkId);
      const links = r.ids.slice(0, 10).map((id) => `<a href="${esc(`${fhir}${r.resourceType}/${id}`)}">${esc(id)}</a>`).join(', ');
      return `<tr class="${esc(r.severity)}"><td>${esc(r.severity)}</td><td><b>${esc(r.checkId)}</b><br>${esc(r.title)}</td><td>${esc(r.category)}${r.subcategory ? ` / ${esc(r.subcategory)}` : ''}</td><td>${r.numerator} / ${r.denominator}</td><td>${fmt(r.percentage)}</td><td>${esc(c?.change ?? '')}${c && c.before ? ` (${c.numeratorDelta >= 0 ? '+' : ''}${c.numeratorDelta})` : ''}</td><td><details><summary>${r.ids.length} resource(s)</summary>${links}${r.ids.length > 10 ? ` … <a href="${esc(`${fhir}${r.resourceType}?_id=${r.ids.slice(0, 100).join(',')}`)}">all</a>` : ''}</details></td></tr>`;
    })
    .join('');
  const fixed = changes.filter((c) => c.change === 'fixed').map((c) => `<li>${esc(c.checkId)}: ${esc(c.title)}</li>`).join('');
  const newFail = changes.filter((c) => c.change === 'new-failure').map((c) => `<li>${esc(c.checkId)}: ${esc(c.title)}</li>`).join('');
  const top = failing.slice(0, 10).map((r) => ({ label: r.checkId.slice(0, 26), value: r.numerator, max: Math.max(...failing.map((f) => f.numerator), 1), color: r.severity === 'error' ? '#c53030' : '#d69e2e' }));
  const statusBars = bars([
    { label: 'passed', value: s.passed, max: s.checks, color: '#2f855a' },
    { label: 'failed', value: s.failed, max: s.checks, color: '#c53030' },
    { label: 'not applicable', value: s.notApplicable, max: s.checks, color: '#a0aec0' },
    { label: 'error', value: s.errors, max: s.checks, color: '#6b46c1' },
  ]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Custodian data-quality report</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#1a202c}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #cbd5e0;padding:4px 8px;text-align:left;vertical-align:top}th{background:#edf2f7}tr.error td:first-child{color:#c53030;font-weight:bold}tr.warning td:first-child{color:#b7791f}.score{font-size:2.5em;font-weight:bold}</style></head>
<body>
<h1>Data-quality report</h1>
<p>Run <code>${esc(input.runId)}</code> started ${esc(input.startedAt)}${input.previous ? `; compared with run <code>${esc(input.previous.runId)}</code> of ${esc(input.previous.startedAt)}` : '; no previous run to compare with'}.</p>
<p class="score">${fmt(s.score)}</p><p>of applicable checks passed${esc(delta(s.score, prev?.score))}: ${s.passed} passed, ${s.failed} failed, ${s.notApplicable} not applicable, ${s.errors} errors, ${s.checks} checks.</p>
${statusBars}
<h2>Trend</h2>
${trend([...(input.history ?? []), { startedAt: input.startedAt, score: s.score }])}
<h2>By category (Kahn)</h2>
<table><tr><th>category</th><th>passed</th><th>failed</th><th>not applicable</th><th>errors</th><th>score</th></tr>${catRows}</table>
<h2>Top failing checks</h2>
${top.length ? bars(top) : '<p>No failing checks.</p>'}
${newFail ? `<h3>Newly failing since the previous run</h3><ul>${newFail}</ul>` : ''}${fixed ? `<h3>Fixed since the previous run</h3><ul>${fixed}</ul>` : ''}
<table><tr><th>severity</th><th>check</th><th>category</th><th>offending / applicable</th><th>%</th><th>vs previous</th><th>drill-down</th></tr>${failRows}</table>
</body></html>
`;
}
