// Entry point of the inbox page (templates/inbox/inbox.html), loaded with
// frontend/live.ts (whose `live` island on #inbox follows /ws/inbox/).
// See inbox/page.ts.

import { inboxPage, type InboxProps } from './inbox/page';
import { readProps } from './lib/props';

function start(): void {
  const root = document.getElementById('inbox');
  if (root) inboxPage(root, readProps<InboxProps>(root, 'inbox'));
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
else start();
