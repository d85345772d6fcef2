-- Login throttling kept in PostgreSQL (issue 10), so it holds across server workers: every failed
-- login is a row; 10 failures for one username or one client address within 15 minutes refuse
-- further attempts (429, Retry-After) until the oldest of them leaves the window.
CREATE TABLE login_failures (
    id          bigserial PRIMARY KEY,
    username    text NOT NULL,
    client      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_failures_username_idx ON login_failures (username, at DESC);
CREATE INDEX login_failures_client_idx ON login_failures (client, at DESC);
