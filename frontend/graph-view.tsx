// Entry point: the read-only DAG view, mounted on every
// `[data-island="graph-view"]` element with json_script props
// {"graph": GRAPH, "executionId": ID | null, "events": [EVENT...]}.

import '@xyflow/react/dist/style.css';
import './styles/flux.css';
import { ReactFlowProvider } from '@xyflow/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphView, type GraphDiff } from './graph/GraphView';
import { mountIslands } from './lib/props';
import type { FluxEvent, GraphDef } from './lib/types';

interface GraphViewIslandProps {
  graph: GraphDef;
  executionId?: string | number | null;
  events?: FluxEvent[];
  apiBase?: string;
  executionUrl?: string | null;
  diff?: GraphDiff | null;
}

mountIslands('graph-view', (element, raw) => {
  const props = raw as GraphViewIslandProps;
  element.classList.add('flux-island');
  createRoot(element).render(
    <StrictMode>
      <ReactFlowProvider>
        <GraphView
          graph={props.graph}
          executionId={props.executionId ?? null}
          events={props.events ?? []}
          apiBase={props.apiBase ?? '/api'}
          executionUrl={props.executionUrl ?? null}
          diff={props.diff ?? null}
        />
      </ReactFlowProvider>
    </StrictMode>,
  );
});
