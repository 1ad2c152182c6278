// The bucket's blocks as GET /api/v1/blocks answers (Thanos's blocks API): one timeline
// per stream (external labels and resolution), blocks placed by time and coloured by
// compaction level; a click shows the block's meta.json.

import { apiGet } from './api.js';
import { alertBox, formatDuration, formatLabels, formatTime, h, render } from './dom.js';

interface BlockMeta {
  ulid: string;
  minTime: number;
  maxTime: number;
  stats?: { numSeries?: number; numSamples?: number; numChunks?: number };
  compaction: { level: number; sources?: string[]; deletable?: boolean };
  thanos?: { labels?: Record<string, string> | null; downsample?: { resolution: number }; source?: string };
  /** Marker files, where the API reports them (deletion-mark.json, no-compact-mark.json). */
  deletionMark?: { deletion_time?: number; details?: string };
  noCompactMark?: { reason?: string; details?: string };
}

interface BlocksData {
  blocks: BlockMeta[] | null;
  label?: string;
  refreshedAt?: string;
  err?: string | null;
}

const LEVEL_COLOURS = ['#8fb3e0', '#5c93d6', '#2f6fbf', '#1e4f8f', '#13345f', '#0b1f3a'];

export async function blocksPage(main: HTMLElement): Promise<void> {
  const { data } = await apiGet<BlocksData>('blocks');
  const blocks = data.blocks ?? [];
  const details = h('aside', { class: 'block-details', hidden: true });
  main.append(
    h('p', { class: 'muted' }, `${blocks.length} block${blocks.length === 1 ? '' : 's'}${data.label ? ` · ${data.label}` : ''}${data.refreshedAt ? ` · refreshed ${data.refreshedAt}` : ''}`),
  );
  if (data.err) main.append(alertBox('error', data.err));
  if (blocks.length === 0) {
    main.append(alertBox('info', 'No blocks found.'));
    return;
  }

  const streams = new Map<string, BlockMeta[]>();
  for (const b of blocks) {
    const key = `${formatLabels(b.thanos?.labels)} @ ${resolutionName(b.thanos?.downsample?.resolution ?? 0)}`;
    if (!streams.has(key)) streams.set(key, []);
    streams.get(key)!.push(b);
  }
  const min = Math.min(...blocks.map((b) => b.minTime));
  const max = Math.max(...blocks.map((b) => b.maxTime));
  const span = Math.max(1, max - min);
  const pct = (t: number): string => `${(((t - min) / span) * 100).toFixed(3)}%`;

  const select = (b: BlockMeta): void => {
    details.hidden = false;
    render(
      details,
      h('button', { class: 'btn close', onclick: () => (details.hidden = true) }, '×'),
      h('h3', {}, b.ulid),
      h(
        'dl',
        {},
        ...(
          [
            ['Start time', formatTime(b.minTime)],
            ['End time', formatTime(b.maxTime)],
            ['Duration', formatDuration(b.maxTime - b.minTime)],
            ['Series', String(b.stats?.numSeries ?? '-')],
            ['Samples', String(b.stats?.numSamples ?? '-')],
            ['Chunks', String(b.stats?.numChunks ?? '-')],
            ['Compaction level', String(b.compaction.level)],
            ['Resolution', resolutionName(b.thanos?.downsample?.resolution ?? 0)],
            ['Source', b.thanos?.source ?? '-'],
            ['Labels', formatLabels(b.thanos?.labels)],
          ] as const
        ).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      ),
      marks(b).length ? h('p', {}, marks(b).map((m) => h('span', { class: 'badge bad' }, m))) : null,
      h('h4', {}, 'meta.json'),
      h('pre', { class: 'meta-json' }, JSON.stringify(b, null, 2)),
    );
    const url = new URL(window.location.href);
    url.searchParams.set('block', b.ulid);
    window.history.replaceState(null, '', `blocks${url.search}`);
  };

  const axis = h('div', { class: 'timeline-axis' }, h('span', {}, formatTime(min)), h('span', {}, formatTime(max)));
  const rows: HTMLElement[] = [];
  for (const [key, list] of [...streams.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    // Overlapping blocks (a stream mid-compaction, replicas) go on lanes of their own.
    const lanes: number[] = [];
    const laneOf = new Map<BlockMeta, number>();
    for (const b of [...list].sort((x, y) => x.minTime - y.minTime || y.compaction.level - x.compaction.level)) {
      let lane = lanes.findIndex((end) => end <= b.minTime);
      if (lane < 0) lane = lanes.push(0) - 1;
      lanes[lane] = b.maxTime;
      laneOf.set(b, lane);
    }
    const track = h('div', { class: 'timeline-track', style: `height:${lanes.length * 26}px` });
    for (const b of list) {
      const m = marks(b);
      track.append(
        h(
          'div',
          {
            class: `block${m.length ? ' marked' : ''}`,
            'data-ulid': b.ulid,
            title: `${b.ulid}\n${formatTime(b.minTime)} – ${formatTime(b.maxTime)}\nlevel ${b.compaction.level} · ${b.stats?.numSeries ?? '?'} series · ${b.stats?.numSamples ?? '?'} samples${m.length ? '\n' + m.join(', ') : ''}`,
            style: `left:${pct(b.minTime)};width:max(4px,calc(${pct(b.maxTime)} - ${pct(b.minTime)}));top:${laneOf.get(b)! * 26}px;background:${LEVEL_COLOURS[Math.min(b.compaction.level, LEVEL_COLOURS.length) - 1] ?? LEVEL_COLOURS[0]}`,
            onclick: () => select(b),
          },
          `L${b.compaction.level}`,
        ),
      );
    }
    rows.push(h('div', { class: 'stream' }, h('div', { class: 'stream-name' }, key, h('span', { class: 'muted' }, ` · ${list.length} block${list.length === 1 ? '' : 's'}`)), track));
  }
  main.append(
    h('div', { class: 'legend' }, ...LEVEL_COLOURS.map((c, i) => h('span', { class: 'legend-item' }, h('span', { class: 'swatch', style: `background:${c}` }), `level ${i + 1}${i === LEVEL_COLOURS.length - 1 ? '+' : ''}`))),
    h('div', { class: 'blocks-layout' }, h('div', { class: 'timeline' }, axis, rows), details),
  );
  const wanted = new URLSearchParams(window.location.search).get('block');
  const found = wanted ? blocks.find((b) => b.ulid === wanted) : undefined;
  if (found) select(found);
}

function marks(b: BlockMeta): string[] {
  const out: string[] = [];
  const deletion = b.deletionMark?.deletion_time;
  if (b.deletionMark || b.compaction.deletable) out.push(deletion ? `marked for deletion at ${formatTime(deletion * 1000)}` : 'marked for deletion');
  if (b.noCompactMark) out.push(b.noCompactMark.reason ? `no-compact: ${b.noCompactMark.reason}` : 'no-compact');
  return out;
}

function resolutionName(ms: number): string {
  return ms === 0 ? 'raw' : formatDuration(ms);
}
