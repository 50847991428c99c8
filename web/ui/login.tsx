/** The login page: one password field; the error the server gave, if any. */
import { useState } from "preact/hooks";
import { api } from "./api.ts";

export function LoginForm(
  { error, busy, onSubmit }: {
    error?: string;
    busy?: boolean;
    onSubmit: (password: string) => void;
  },
) {
  return (
    <form
      class="login"
      aria-labelledby="login-title"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit(String(new FormData(e.currentTarget).get("password") ?? ""));
      }}
    >
      <h1 id="login-title">appliance admin</h1>
      {error && <p class="notice error" role="alert" id="login-error">{error}</p>}
      <label>
        Admin password
        <input
          name="password"
          type="password"
          autocomplete="current-password"
          required
          autofocus
          aria-describedby={error ? "login-error" : undefined}
        />
      </label>
      <button type="submit" disabled={busy}>{busy ? "Logging in…" : "Log in"}</button>
      <p class="hint">
        Set or change the password on a host with <code>appliance passwd</code>.
      </p>
    </form>
  );
}

export function Login({ onLogin }: { onLogin: () => void }) {
  const [state, setState] = useState<{ busy: boolean; error?: string }>({ busy: false });
  return (
    <LoginForm
      {...state}
      onSubmit={async (password) => {
        setState({ busy: true });
        try {
          await api.login(password);
          onLogin();
        } catch (e) {
          setState({ busy: false, error: (e as Error).message });
        }
      }}
    />
  );
}
