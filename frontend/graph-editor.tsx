// Entry point: the visual graph editor, mounted on
// `[data-island="graph-editor"]` with json_script props
// {"graphId": int | null, "definition": GRAPH, "canEdit": bool, "apiBase": "/api"}.

import '@xyflow/react/dist/style.css';
import './styles/flux.css';
import { ReactFlowProvider } from '@xyflow/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphEditor } from './editor/GraphEditor';
import { EMPTY_GRAPH } from './editor/document';
import { mountIslands } from './lib/props';
import type { GraphDef } from './lib/types';

interface GraphEditorIslandProps {
  graphId?: number | null;
  definition?: GraphDef | null;
  canEdit?: boolean;
  canRun?: boolean;
  apiBase?: string;
}

mountIslands('graph-editor', (element, raw) => {
  const props = (raw ?? {}) as GraphEditorIslandProps;
  element.classList.add('flux-island');
  createRoot(element).render(
    <StrictMode>
      <ReactFlowProvider>
        <GraphEditor
          graphId={props.graphId ?? null}
          definition={props.definition ?? EMPTY_GRAPH}
          canEdit={props.canEdit ?? false}
          canRun={props.canRun ?? props.canEdit ?? false}
          apiBase={props.apiBase ?? '/api'}
        />
      </ReactFlowProvider>
    </StrictMode>,
  );
});
