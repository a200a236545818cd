/**
 * Live updates from `GET /events` (server-sent events). Read with fetch rather than
 * EventSource so the bearer token can be sent; reconnects with a growing delay.
 */
import { useEffect, useRef, useState } from "react";
import { authorizedFetch } from "./api";
import type { Stats } from "./types";

export interface SseEvent {
  event: string;
  data: string;
}

/** Splits a text/event-stream into events; feed it chunks, it returns whole events. */
export class SseParser {
  private buffer = "";

  feed(chunk: string): SseEvent[] {
    this.buffer += chunk.replace(/\r\n?/g, "\n");
    const events: SseEvent[] = [];
    let end: number;
    while ((end = this.buffer.indexOf("\n\n")) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
      if (data.length) events.push({ event, data: data.join("\n") });
    }
    return events;
  }
}

export type Connection = "connecting" | "live" | "offline";

/**
 * Subscribes to /events: returns the latest stats and the connection state, and calls
 * `onGraphChange(rev)` on every `graph` event (and after a reconnect, since changes
 * may have been missed).
 */
export function useEvents(onGraphChange: (rev: number | null) => void): { stats: Stats | null; connection: Connection } {
  const [stats, setStats] = useState<Stats | null>(null);
  const [connection, setConnection] = useState<Connection>("connecting");
  const graphChanged = useRef(onGraphChange);
  graphChanged.current = onGraphChange;

  useEffect(() => {
    let stopped = false;
    let controller: AbortController | null = null;
    let delay = 500;
    let everConnected = false;

    async function listen(): Promise<void> {
      controller = new AbortController();
      const response = await authorizedFetch("/events", {
        headers: { Accept: "text/event-stream" },
        signal: controller.signal,
      });
      if (!response.ok || !response.body) throw new Error(`GET /events: ${response.status}`);
      setConnection("live");
      if (everConnected) graphChanged.current(null);
      everConnected = true;
      delay = 500;
      const parser = new SseParser();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const { event, data } of parser.feed(value)) handle(event, data);
      }
    }

    function handle(event: string, data: string): void {
      let body: unknown;
      try {
        body = JSON.parse(data);
      } catch {
        return;
      }
      if (event === "graph") {
        const rev = (body as { rev?: unknown }).rev;
        graphChanged.current(typeof rev === "number" ? rev : null);
      } else if (body && typeof body === "object" && "components" in body) {
        setStats(body as Stats);
      }
    }

    async function loop(): Promise<void> {
      while (!stopped) {
        try {
          await listen();
        } catch {
          /* network error or server restart: retry below */
        }
        if (stopped) return;
        setConnection("offline");
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }

    void loop();
    return () => {
      stopped = true;
      controller?.abort();
    };
  }, []);

  return { stats, connection };
}
