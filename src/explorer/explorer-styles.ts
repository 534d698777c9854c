/**
 * The explorer's look, shared by its views: system colors through custom properties, light and dark
 * following the OS (`prefers-color-scheme`), overridable by the app (`--shelf-accent`, …).
 */
import { css } from 'lit';

export const baseStyles = css`
  :host {
    --shelf-bg: #ffffff;
    --shelf-fg: #1d2430;
    --shelf-muted: #5f6b7a;
    --shelf-border: #d5dbe3;
    --shelf-panel: #f5f7fa;
    --shelf-accent: #2a62c9;
    --shelf-danger: #b3261e;
    --shelf-ok: #1e7b34;
    --shelf-warn: #8a5a00;
    --shelf-mono: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace;
    color-scheme: light dark;
    display: block;
    color: var(--shelf-fg);
    background: var(--shelf-bg);
    font:
      14px/1.45 system-ui,
      sans-serif;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --shelf-bg: #15191f;
      --shelf-fg: #e3e8ef;
      --shelf-muted: #9aa6b5;
      --shelf-border: #323a46;
      --shelf-panel: #1d232b;
      --shelf-accent: #7fa8ff;
      --shelf-danger: #ff8a80;
      --shelf-ok: #7bd88f;
      --shelf-warn: #f2c46d;
    }
  }
  * {
    box-sizing: border-box;
  }
  button,
  input,
  select,
  textarea {
    font: inherit;
    color: inherit;
  }
  button {
    background: var(--shelf-panel);
    border: 1px solid var(--shelf-border);
    border-radius: 4px;
    padding: 2px 10px;
    cursor: pointer;
  }
  button:disabled {
    opacity: 0.5;
    cursor: default;
  }
  button.link {
    background: none;
    border: none;
    padding: 0;
    color: var(--shelf-accent);
    text-decoration: underline;
    font-family: var(--shelf-mono);
  }
  input,
  select,
  textarea {
    background: var(--shelf-bg);
    border: 1px solid var(--shelf-border);
    border-radius: 4px;
    padding: 2px 6px;
  }
  :focus-visible {
    outline: 2px solid var(--shelf-accent);
    outline-offset: 1px;
  }
  table {
    border-collapse: collapse;
    width: 100%;
  }
  th,
  td {
    text-align: left;
    vertical-align: top;
    padding: 3px 8px;
    border-bottom: 1px solid var(--shelf-border);
  }
  th {
    color: var(--shelf-muted);
    font-weight: 600;
  }
  code,
  .mono {
    font-family: var(--shelf-mono);
    font-size: 13px;
  }
  .muted {
    color: var(--shelf-muted);
  }
  .error {
    color: var(--shelf-danger);
    white-space: pre-wrap;
  }
  .warn {
    color: var(--shelf-warn);
  }
  .ok {
    color: var(--shelf-ok);
  }
  .toolbar {
    display: flex;
    flex-wrap: wrap;
    gap: 6px;
    align-items: center;
    margin: 6px 0;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;
