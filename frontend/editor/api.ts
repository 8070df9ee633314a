// The editor's calls to the graphs API (DESIGN.md: /api/graphs/, /api/tasks/).

import { apiRequest } from '../lib/api';
import type { components } from '../lib/api-types';
import type { Execution, GraphDef, Page, TaskInfo } from '../lib/types';

/** A saved graph at one version (`GET /api/graphs/{id}`). */
export type SavedGraph = components['schemas']['GraphOut'];

export function createGraphApi(apiBase: string) {
  const base = apiBase.replace(/\/$/, '');
  return {
    async listTasks(): Promise<TaskInfo[]> {
      const items: TaskInfo[] = [];
      let url: string | null = `${base}/tasks/`;
      for (let i = 0; url && i < 50; i++) {
        const page: Page<TaskInfo> = await apiRequest<Page<TaskInfo>>(url);
        items.push(...page.items);
        url = page.next ? `${base}/tasks/?cursor=${encodeURIComponent(page.next)}` : null;
      }
      return items;
    },
    validate(graph: GraphDef, signal?: AbortSignal): Promise<components['schemas']['Valid']> {
      return apiRequest(`${base}/graphs/validate`, { method: 'POST', body: graph, signal });
    },
    save(graphId: number | null, graph: GraphDef): Promise<SavedGraph> {
      return graphId === null
        ? apiRequest(`${base}/graphs/`, { method: 'POST', body: graph })
        : apiRequest(`${base}/graphs/${graphId}`, { method: 'PUT', body: graph });
    },
    get(graphId: number): Promise<SavedGraph> {
      return apiRequest(`${base}/graphs/${graphId}`);
    },
    run(graphId: number, input: unknown): Promise<Execution> {
      return apiRequest(`${base}/graphs/${graphId}/run`, { method: 'POST', body: { input } });
    },
  };
}

export type GraphApi = ReturnType<typeof createGraphApi>;
