/**
 * What the server holds: the graph (GET /graph) and the palette classes (GET /filters).
 * The canvas is always drawn from this; every change is followed by a refetch.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "./api";
import type { FilterClass, Graph } from "./types";

export interface ServerGraph {
  graph: Graph | null;
  classes: FilterClass[];
  loadError: string | null;
  /** Refetch /graph (skipped when `rev` is given and already shown). */
  refresh: (rev?: number | null) => Promise<void>;
  reloadClasses: () => Promise<void>;
}

export function useGraph(): ServerGraph {
  const [graph, setGraph] = useState<Graph | null>(null);
  const [classes, setClasses] = useState<FilterClass[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const latest = useRef(0);
  const shownRev = useRef<number | undefined>(undefined);

  const refresh = useCallback(async (rev?: number | null) => {
    if (rev != null && rev === shownRev.current) return;
    const ticket = ++latest.current;
    try {
      const fresh = await api.graph();
      if (ticket !== latest.current) return; // a newer fetch was started meanwhile
      shownRev.current = fresh.rev;
      setGraph(fresh);
      setLoadError(null);
    } catch (err) {
      if (ticket === latest.current) setLoadError(`Could not load the graph: ${(err as Error).message}`);
    }
  }, []);

  const reloadClasses = useCallback(async () => {
    try {
      setClasses(await api.classes());
    } catch (err) {
      setLoadError(`Could not load the palette: ${(err as Error).message}`);
    }
  }, []);

  useEffect(() => {
    void reloadClasses();
    void refresh();
    const onFocus = () => void refresh();
    const onVisible = () => document.visibilityState === "visible" && void refresh();
    window.addEventListener("focus", onFocus);
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      window.removeEventListener("focus", onFocus);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [refresh, reloadClasses]);

  return { graph, classes, loadError, refresh, reloadClasses };
}
