// @vitest-environment happy-dom
// The execution page's timeline pieces render as the server does for a fresh
// load (executions/views/render.py): Gantt rows, progress, the Task menu.
import { describe, expect, it } from 'vitest';
import { TaskTimeline } from '../lib/tasks';
import { MAX_TASK_OPTIONS, addTaskOption, ganttRows, progressOf, roundHalfEven, taskOptionLabel } from './timeline';

function menu(html: string): HTMLSelectElement {
  document.body.innerHTML = `<select name="task"><option value="">all</option>${html}</select>`;
  return document.querySelector('select')!;
}
const offered = (select: HTMLSelectElement) => [...select.options].map((o) => o.value);

describe('the Task menu', () => {
  it('labels a task by name and short id', () => {
    expect(taskOptionLabel('0123456789abcdef', 'fetch')).toBe('fetch (0123456789abc…)');
    expect(taskOptionLabel('short', 'fetch')).toBe('fetch (short)');
  });

  it('adds a task that starts where a fresh load puts it: by name, then by start', () => {
    // As executions/views/render.py task_options renders two tasks.
    const select = menu('<option value="t1">charge (t1)</option><option value="t2">ship (t2)</option>');
    select.value = 't2'; // ?task=t2 (happy-dom ignores a parsed `selected`)
    expect(addTaskOption(select, 't3', 'charge')).toBe(true);
    expect(addTaskOption(select, 't4', 'audit')).toBe(true);
    expect(addTaskOption(select, 't5', 'zap')).toBe(true);
    expect(addTaskOption(select, 't1', 'charge')).toBe(false);
    expect(offered(select)).toEqual(['', 't4', 't1', 't3', 't2', 't5']);
    expect(select.options[3]!.textContent).toBe('charge (t3)');
    expect(select.value).toBe('t2');
  });

  it(`offers at most ${MAX_TASK_OPTIONS} tasks, the first by name`, () => {
    const options = Array.from({ length: MAX_TASK_OPTIONS }, (_, i) => `<option value="b${i}">b (b${i})</option>`).join('');
    const select = menu(options);
    expect(addTaskOption(select, 'late', 'c')).toBe(false);
    expect(addTaskOption(select, 'early', 'a')).toBe(true);
    expect(offered(select)).toHaveLength(MAX_TASK_OPTIONS + 1);
    expect(offered(select)[1]).toBe('early');
    expect(offered(select)).not.toContain(`b${MAX_TASK_OPTIONS - 1}`);
  });
});

describe('the Gantt and the progress bar', () => {
  const timeline = () =>
    new TaskTimeline(
      [
        { id: 'a', name: 'fetch', parent: null, start: 0, end: 1500, state: 'completed', retries: 2 },
        { id: 'b', name: 'child', parent: 'a', start: 500, end: null, state: 'running', retries: 0 },
      ],
      0,
    );

  it('renders the rows of render.py gantt_rows', () => {
    const [a, b] = ganttRows(document, timeline(), 2000);
    expect(a!.outerHTML).toBe(
      '<div class="gantt-row" data-task="a" data-state="completed">' +
        '<span class="gantt-name" style="padding-left: 0rem;" title="a">fetch <span class="muted small">↻2</span></span>' +
        '<span class="gantt-track"><span class="gantt-bar" style="left: 0%; width: 75%;"></span></span>' +
        '<span class="gantt-time muted small">1.5 s</span></div>',
    );
    expect(b!.dataset.state).toBe('running');
    expect(b!.querySelector<HTMLElement>('.gantt-name')!.style.paddingLeft).toBe('1rem');
    expect(b!.querySelector<HTMLElement>('.gantt-bar')!.style.width).toBe('75%');
    expect(b!.querySelector('.gantt-time')!.textContent).toBe('');
  });

  it('counts tasks done; a finished run is 100 %', () => {
    expect(progressOf(timeline(), false)).toEqual({ done: 1, total: 2, percent: 50, text: '1 of 2 tasks done' });
    expect(progressOf(timeline(), true).percent).toBe(100);
    expect(progressOf(new TaskTimeline(), false)).toEqual({ done: 0, total: 0, percent: 0, text: '0 of 0 tasks done' });
  });

  it("rounds halves as Python's round()", () => {
    expect(roundHalfEven(12.5)).toBe(12);
    expect(roundHalfEven(13.5)).toBe(14);
    expect(roundHalfEven(37.4999)).toBe(37);
    expect(roundHalfEven(1.23456, 3)).toBe(1.235);
  });
});
