/** Export (download GET /graph as JSON) and import (upload a file → PUT /graph). */
import { useRef } from "react";
import { api } from "./api";

interface Props {
  onImported: () => void;
  onError: (text: string) => void;
}

export function GraphFile({ onImported, onError }: Props) {
  const input = useRef<HTMLInputElement>(null);

  const exportGraph = async () => {
    try {
      const graph = await api.graph();
      const blob = new Blob([JSON.stringify(graph, null, 2) + "\n"], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = `${graph.name || "graph"}.json`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) {
      onError(`Export failed: ${(err as Error).message}`);
    }
  };

  const importGraph = async (file: File) => {
    let graph: unknown;
    try {
      graph = JSON.parse(await file.text());
    } catch (err) {
      onError(`Import failed: ${file.name} is not JSON (${(err as Error).message})`);
      return;
    }
    try {
      await api.replaceGraph(graph);
      onImported();
    } catch (err) {
      onError(`Import failed: ${(err as Error).message}`);
    }
  };

  return (
    <>
      <button type="button" onClick={exportGraph} data-testid="export-button" title="Download the graph as JSON">
        Export
      </button>
      <button type="button" onClick={() => input.current?.click()} data-testid="import-button" title="Replace the graph with one from a file">
        Import…
      </button>
      <input
        ref={input}
        type="file"
        accept=".json,application/json"
        hidden
        data-testid="import-file"
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = "";
          if (file) void importGraph(file);
        }}
      />
    </>
  );
}
