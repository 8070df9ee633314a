// The schedule form checks its expression as you type: each change of the cron
// expression, the interval or the timezone asks POST /api/schedules/preview (the
// server parses cron; nothing is parsed here) and shows the sentence and the next
// fire times, or what is wrong. Mounted on every [data-schedule-form].
import { apiRequest } from './lib/api';
import { timeElement } from './lib/format';

interface Preview {
  valid: boolean;
  error: string | null;
  description: string | null;
  next_fires: string[];
}

function field(form: Element, selector: string): HTMLInputElement | null {
  return form.querySelector<HTMLInputElement>(selector);
}

export function mount(form: Element): void {
  const out = form.querySelector<HTMLElement>('[data-preview]');
  const cron = field(form, '[data-preview-cron]');
  const interval = field(form, '[data-preview-interval]');
  const timezone = field(form, '[data-preview-timezone]');
  if (!out || !cron || !interval || !timezone) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let asked = 0;

  const kind = (): string =>
    form.querySelector<HTMLInputElement>('input[name="kind"]:checked')?.value ?? 'cron';

  async function check(): Promise<void> {
    const mine = ++asked;
    const body =
      kind() === 'interval'
        ? { interval_seconds: Number(interval!.value) || 0, timezone: timezone!.value || 'UTC' }
        : { cron: cron!.value, timezone: timezone!.value || 'UTC' };
    try {
      const answer = await apiRequest<Preview>('/api/schedules/preview', { method: 'POST', body });
      if (mine !== asked) return;
      out!.replaceChildren();
      if (!answer.valid) {
        out!.dataset.valid = 'false';
        out!.textContent = answer.error ?? 'Not valid.';
        return;
      }
      out!.dataset.valid = 'true';
      const sentence = document.createElement('p');
      sentence.textContent = answer.description ?? '';
      const list = document.createElement('ol');
      for (const iso of answer.next_fires) {
        const item = document.createElement('li');
        item.append(timeElement(document, iso));
        list.append(item);
      }
      out!.append(sentence, list);
    } catch (error) {
      if (mine === asked) out!.textContent = (error as Error).message;
    }
  }

  const later = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => void check(), 250);
  };
  for (const input of form.querySelectorAll('input')) input.addEventListener('input', later);
  for (const radio of form.querySelectorAll('input[name="kind"]')) radio.addEventListener('change', later);
  if (cron.value || interval.value) void check();
}

for (const form of document.querySelectorAll('[data-schedule-form]')) mount(form);
