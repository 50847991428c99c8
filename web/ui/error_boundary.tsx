/** Catches a render error below it and shows what happened instead of a blank page. */
import { Component, type ComponentChildren } from "preact";

interface Props {
  children?: ComponentChildren;
  /** What the section was, e.g. "the events page". */
  what?: string;
}

interface State {
  error?: Error;
}

export class ErrorBoundary extends Component<Props, State> {
  static override getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: unknown) {
    console.error("panel: render failed:", error);
  }

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <ErrorMessage
        what={this.props.what}
        error={error}
        retry={() => this.setState({ error: undefined })}
      />
    );
  }
}

export function ErrorMessage(
  { what, error, retry }: { what?: string; error: Error; retry?: () => void },
) {
  return (
    <div class="notice error" role="alert">
      <p>
        <strong>Something went wrong{what ? ` in ${what}` : ""}:</strong> {error.message}
      </p>
      {retry && <button type="button" onClick={retry}>Try again</button>}
    </div>
  );
}
