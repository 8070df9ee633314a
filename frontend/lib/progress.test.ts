// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { percentOf, progressText, showProgress } from './progress';

describe('task progress', () => {
  it('draws a bar for processed/total and the JSON otherwise', () => {
    expect(percentOf({ processed: 5, total: 20 })).toBe(25);
    expect(percentOf({ processed: 5 })).toBeNull();
    expect(percentOf({ processed: 5, total: 0 })).toBeNull();
    expect(progressText({ processed: 5, total: 20 })).toBe('5 of 20');
    expect(progressText({ step: 'building' })).toBe('{"step":"building"}');
  });

  it('replaces the rows of the progress card and shows it', () => {
    document.body.innerHTML = '<section data-task-progress hidden><ul data-task-progress-rows></ul></section>';
    showProgress(document, {
      b: { name: 'upload', value: 'half', time: '2026-01-01T00:00:02Z' },
      a: { name: 'crunch', value: { processed: 1, total: 4 }, time: '2026-01-01T00:00:01Z' },
    });
    const card = document.querySelector<HTMLElement>('[data-task-progress]')!;
    expect(card.hidden).toBe(false);
    const rows = [...card.querySelectorAll('li')];
    expect(rows.map((r) => r.dataset.task)).toEqual(['a', 'b']);
    expect(rows[0]!.querySelector('[role="progressbar"]')!.getAttribute('aria-valuenow')).toBe('25');
    expect(rows[1]!.querySelector('[data-progress-value]')!.textContent).toBe('"half"');
  });
});
