CREATE TABLE page_views (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    path TEXT NOT NULL
);
CREATE INDEX page_views_path ON page_views (path);
