CREATE TABLE page_views (
    id INTEGER AUTO_INCREMENT PRIMARY KEY,
    path VARCHAR(255) NOT NULL
);
CREATE INDEX page_views_path ON page_views (path);
