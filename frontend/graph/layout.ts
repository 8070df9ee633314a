// Automatic top-to-bottom layout with dagre. Positions are the top-left
// corners React Flow expects.

import dagre from '@dagrejs/dagre';

export const NODE_WIDTH = 210;
export const NODE_HEIGHT = 68;

export interface XY {
  x: number;
  y: number;
}

export interface LayoutOptions {
  direction?: 'TB' | 'LR';
  nodeSeparation?: number;
  rankSeparation?: number;
  sizes?: ReadonlyMap<string, { width: number; height: number }>;
}

export function layoutGraph(
  nodes: readonly { id: string }[],
  edges: readonly { source: string; target: string }[],
  options: LayoutOptions = {},
): Record<string, XY> {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: options.direction ?? 'TB', nodesep: options.nodeSeparation ?? 40, ranksep: options.rankSeparation ?? 90, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set<string>();
  for (const node of nodes) {
    const size = options.sizes?.get(node.id);
    g.setNode(node.id, { width: size?.width ?? NODE_WIDTH, height: size?.height ?? NODE_HEIGHT });
    ids.add(node.id);
  }
  for (const edge of edges) {
    if (ids.has(edge.source) && ids.has(edge.target) && edge.source !== edge.target) g.setEdge(edge.source, edge.target);
  }
  dagre.layout(g);
  const positions: Record<string, XY> = {};
  for (const node of nodes) {
    const laid = g.node(node.id) as { x: number; y: number; width: number; height: number };
    positions[node.id] = { x: Math.round(laid.x - laid.width / 2), y: Math.round(laid.y - laid.height / 2) };
  }
  return positions;
}
