// Islands read their props from Django's json_script output:
//   <div data-island="graph-view" data-props="graph-view-props"></div>
//   {{ props|json_script:"graph-view-props" }}
// `data-props` names the id of the <script type="application/json"> element.
// Without it, the island looks for "<island>-props".

export function readProps<T>(element: Element, island: string): T {
  const id = element.getAttribute('data-props') ?? `${island}-props`;
  const script = element.ownerDocument.getElementById(id);
  if (!script) throw new Error(`Island "${island}": no json_script element with id "${id}".`);
  return JSON.parse(script.textContent ?? 'null') as T;
}

/** Calls `mount` once for each `[data-island=name]` element, after the DOM is ready. */
export function mountIslands(island: string, mount: (element: HTMLElement, props: unknown) => void): void {
  const run = () => {
    document.querySelectorAll<HTMLElement>(`[data-island="${island}"]`).forEach((element) => {
      if (element.dataset.mounted) return;
      element.dataset.mounted = 'true';
      try {
        mount(element, readProps(element, island));
      } catch (error) {
        element.dataset.mounted = 'error';
        element.textContent = `Could not start this view: ${(error as Error).message}`;
        console.error(error);
      }
    });
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', run, { once: true });
  else run();
}
