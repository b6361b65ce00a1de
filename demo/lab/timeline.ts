/**
 * The lab's run as an SVG timeline: one lane per connection, from the last segment it
 * received to its end, with each keepalive probe and data retransmission it sent, the
 * predicted and the measured detection, and the cut. Shapes, not colours, tell the
 * marks apart, so it reads in black and white; it is drawn for about 800 px.
 */
import { formatDuration, formatState } from '../format.js';
import { formatWire, type LabReport, type LabResult } from './report.js';
import { OLD_NODE } from './rows.js';

const WIDTH = 800;
const MARGIN = 20;
const LANE_HEIGHT = 50;
const TOP = 116;
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A tick spacing (ms) giving 6 to 15 ticks over `spanMs`. */
function tickStep(spanMs: number): number {
  return [500, 1000, 2000, 5000, 10_000, 20_000, 30_000, 60_000].find((step) => spanMs / step <= 15) ?? 120_000;
}

/** The marks, as SVG, drawn at (x, y); shared by the lanes and the legend. */
const MARK = {
  lastReceived: (x: number, y: number) => `<circle cx="${x}" cy="${y}" r="3.5" fill="#000"/>`,
  probe: (x: number, y: number) =>
    `<line x1="${x}" y1="${y - 7}" x2="${x}" y2="${y + 7}" stroke="#000" stroke-width="1.6"/>`,
  retransmission: (x: number, y: number) =>
    `<circle cx="${x}" cy="${y}" r="3.5" fill="#fff" stroke="#000" stroke-width="1.2"/>`,
  predicted: (x: number, y: number) =>
    `<path d="M${x - 5} ${y - 14} h10 l-5 8 z" fill="#fff" stroke="#000" stroke-width="1.2"/>`,
  measured: (x: number, y: number) => `<path d="M${x} ${y + 6} l5 8 h-10 z" fill="#000"/>`,
};

export function renderTimeline(report: LabReport): string {
  const rows = report.rows.filter((row) => row.wire !== null);
  const segmentsSent = rows.flatMap((row) => [...(row.wire?.probesMs ?? []), ...(row.wire?.retransmissionsMs ?? [])]);
  const waitedEnd = Math.max(...rows.map((row) => row.closedMs ?? 0), ...segmentsSent);
  const predictedEnds = rows
    .map((row) => (row.startedMs ?? 0) + (row.predictedMs ?? Infinity))
    .filter((at) => at <= report.windowMs);
  const start = Math.min(...rows.map((row) => Math.min(row.wire?.lastReceivedMs ?? 0, row.startedMs ?? 0))) - 500;
  const step = tickStep(Math.max(waitedEnd, ...predictedEnds) - start);
  const end = Math.ceil((Math.max(waitedEnd, ...predictedEnds) + step / 2) / step) * step;
  const x = (ms: number) => Math.round((MARGIN + ((ms - start) / (end - start)) * (WIDTH - 2 * MARGIN)) * 10) / 10;
  const axisY = TOP + rows.length * LANE_HEIGHT + 8;
  const height = axisY + 44;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
      `${FONT} font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${MARGIN}" y="22" font-size="15" font-weight="bold">` +
      'What each connection sent after the link was cut</text>',
    `<text x="${MARGIN}" y="40" fill="#333">socket-keepalive lab, ${escapeXml(rows[0]?.node ?? '')}; time from the cut; ` +
      'each lane starts at the last segment the client received</text>',
    ...legend(62),
    `<text x="${x(0) + 4}" y="${TOP - 4}" font-size="11">cut</text>`,
  ];
  rows.forEach((row, index) => {
    parts.push(...lane(row, report.rows.indexOf(row) + 1, TOP + index * LANE_HEIGHT, x, end));
  });
  // The cut: dashed through every lane, stopping short of the lanes' titles.
  const cut = (from: number, to: number) =>
    `<line x1="${x(0)}" y1="${from}" x2="${x(0)}" y2="${to}" stroke="#000" stroke-dasharray="4 3"/>`;
  parts.push(cut(TOP - 14, TOP));
  rows.forEach((_, index) => {
    const bottom = index === rows.length - 1 ? axisY : TOP + (index + 1) * LANE_HEIGHT;
    parts.push(cut(TOP + index * LANE_HEIGHT + 17, bottom));
  });
  parts.push(`<line x1="${MARGIN}" y1="${axisY}" x2="${WIDTH - MARGIN}" y2="${axisY}" stroke="#000"/>`);
  for (let tick = Math.ceil(start / step) * step; tick <= end; tick += step) {
    parts.push(`<line x1="${x(tick)}" y1="${axisY}" x2="${x(tick)}" y2="${axisY + 5}" stroke="#000"/>`);
    parts.push(`<text x="${x(tick)}" y="${axisY + 18}" text-anchor="middle" font-size="11">${tick / 1000} s</text>`);
  }
  parts.push(
    `<text x="${WIDTH - MARGIN}" y="${axisY + 36}" text-anchor="end" font-size="11" fill="#333">` +
      `lab finished in ${escapeXml(formatDuration(report.durationMs))}</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

/** Two lines of marks and what they mean. */
function legend(y: number): string[] {
  const lines: [string, (x: number, y: number) => string][][] = [
    [
      ['last segment received', MARK.lastReceived],
      ['keepalive probe', MARK.probe],
      ['data retransmission', MARK.retransmission],
      ['reset sent', (x, y) => `<text x="${x - 6}" y="${y + 4}" font-size="10">RST</text>`],
    ],
    [
      ['predicted detection', (x, y) => MARK.predicted(x, y + 10)],
      ["measured detection (the socket's error)", (x, y) => MARK.measured(x, y - 10)],
      [
        'still open',
        (x, y) => `<line x1="${x - 6}" y1="${y}" x2="${x + 4}" y2="${y}" stroke="#000" stroke-dasharray="1 3"/>`,
      ],
    ],
  ];
  const parts: string[] = [];
  lines.forEach((items, line) => {
    let x = MARGIN + 6;
    for (const [text, mark] of items) {
      const shift = text === 'reset sent' ? 16 : 10;
      const label = `<text x="${x + shift}" y="${y + line * 20 + 4}" font-size="11">${escapeXml(text)}</text>`;
      parts.push(mark(x, y + line * 20), label);
      x += shift + 24 + text.length * 5.8;
    }
  });
  return parts;
}

function lane(row: LabResult, number: number, top: number, x: (ms: number) => number, end: number): string[] {
  const wire = row.wire as NonNullable<LabResult['wire']>;
  const y = top + 32;
  const node = row.node === `v${OLD_NODE}` ? ` on Node ${OLD_NODE}` : '';
  const title = `${row.label}${node} · ${row.effective ? formatState(row.effective) : '-'} · ${formatWire(row)}`;
  const from = Math.min(wire.lastReceivedMs ?? 0, row.startedMs ?? 0);
  const closed = row.closedMs;
  const parts = [
    `<text x="${MARGIN}" y="${top + 12}"><tspan font-weight="bold">${number}</tspan>  ${escapeXml(title)}</text>`,
  ];
  const dotted = closed === null ? ' stroke-dasharray="1 3"' : '';
  parts.push(
    `<line x1="${x(from)}" y1="${y}" x2="${x(closed ?? end)}" y2="${y}" stroke="#000" stroke-width="1.2"${dotted}/>`,
  );
  if (closed === null) parts.push(`<path d="M${x(end) - 6} ${y - 4} l6 4 l-6 4" fill="none" stroke="#000"/>`);
  if (wire.lastReceivedMs !== null) parts.push(MARK.lastReceived(x(wire.lastReceivedMs), y));
  for (const at of wire.probesMs) parts.push(MARK.probe(x(at), y));
  for (const at of wire.retransmissionsMs) parts.push(MARK.retransmission(x(at), y));
  if (wire.resetMs !== null) parts.push(`<text x="${x(wire.resetMs) + 5}" y="${y + 4}" font-size="10">RST</text>`);
  if (row.predictedMs !== null && row.startedMs !== null) {
    const predictedAt = row.startedMs + row.predictedMs;
    if (predictedAt <= end) parts.push(MARK.predicted(x(predictedAt), y));
    else {
      const notWaited = row.outcome === 'not-waited' ? ', not waited for' : '';
      parts.push(
        `<text x="${x(end) - 10}" y="${y - 8}" text-anchor="end" font-size="11">` +
          `predicted ${escapeXml(formatDuration(row.predictedMs))}${notWaited}</text>`,
      );
    }
  }
  if (closed !== null && row.outcome === 'detected') parts.push(MARK.measured(x(closed), y));
  return parts;
}
