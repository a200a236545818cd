/** Messages from the server (refused wires, failed calls), shown until dismissed. */
export interface Notice {
  id: number;
  text: string;
}

export function ErrorBanner({ notices, onDismiss }: { notices: Notice[]; onDismiss: (id: number) => void }) {
  if (!notices.length) return null;
  return (
    <div className="error-banner" data-testid="error-banner" role="alert">
      {notices.map((n) => (
        <div className="notice" key={n.id} data-testid="error-message">
          <span>{n.text}</span>
          <button type="button" onClick={() => onDismiss(n.id)} aria-label="Dismiss">
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
