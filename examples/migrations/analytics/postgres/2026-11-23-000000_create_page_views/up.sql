CREATE TABLE page_views (
    id SERIAL PRIMARY KEY,
    path TEXT NOT NULL
);
CREATE INDEX page_views_path ON page_views (path);
