// Entry point of the dashboard's server-rendered pages (templates/executions/):
// one island per page, chosen by its `[data-page]` element. No React.
//   execution   dashboard/execution.ts   events, timeline, Task menu, summary
//   executions  dashboard/lists.ts       live badges and rows, bulk selection
//   overview    dashboard/lists.ts       the body re-rendered after changes
//   workflow    dashboard/lists.ts       the Run form's JSON check
// Each page's stream is window.fluxweb.stream.

import { executionPage } from './dashboard/execution';
import { listPage, overviewPage, workflowPage } from './dashboard/lists';

const PAGES: Record<string, (root: HTMLElement) => void> = {
  execution: executionPage,
  executions: listPage,
  overview: overviewPage,
  workflow: workflowPage,
};

function start(): void {
  const root = document.querySelector<HTMLElement>('[data-page]');
  const page = root ? PAGES[root.dataset.page ?? ''] : undefined;
  if (root && page) page(root);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
else start();
