#!/usr/bin/env python3
"""Writes the two programs of the compile-time bench from one list of functions: `routed`
(diesel-route) and `plain` (diesel-async alone). Run it after editing FUNCTIONS; its output
is checked in."""

import os
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(HERE, "..", "src", "bin")

# (module, role, database, name, parameters, return type, body)
FUNCTIONS = [
    # posts: filters, subqueries, boxed queries
    ("posts", "read", "default", "post_by_id", "id: i32", "Option<Post>", """
        Ok(posts::table.find(id).select(Post::as_select()).first(conn).await.optional()?)
    """),
    ("posts", "read", "default", "recent_posts", "limit: i64, offset: i64", "Vec<Post>", """
        Ok(posts::table
            .filter(posts::published.eq(true))
            .order((posts::score.desc(), posts::id.desc()))
            .limit(limit)
            .offset(offset)
            .select(Post::as_select())
            .load(conn)
            .await?)
    """),
    ("posts", "read", "default", "post_count", "", "i64", """
        Ok(posts::table.count().get_result(conn).await?)
    """),
    ("posts", "read", "default", "titles_like", "pattern: String", "Vec<String>", """
        Ok(posts::table
            .filter(posts::title.like(pattern).or(posts::body.like("%rust%")))
            .select(posts::title)
            .load(conn)
            .await?)
    """),
    ("posts", "read", "default", "commented_posts", "", "Vec<Post>", """
        Ok(posts::table
            .filter(exists(comments::table.filter(comments::post_id.eq(posts::id))))
            .select(Post::as_select())
            .load(conn)
            .await?)
    """),
    ("posts", "read", "default", "posts_of_active_users", "", "Vec<i32>", """
        Ok(posts::table
            .filter(posts::user_id.eq_any(users::table.filter(users::active.eq(true)).select(users::id)))
            .select(posts::id)
            .load(conn)
            .await?)
    """),
    ("posts", "read", "default", "search_posts", "title: Option<String>, author: Option<i32>, published: Option<bool>", "Vec<Post>", """
        let mut query = posts::table.select(Post::as_select()).into_boxed();
        if let Some(title) = title {
            query = query.filter(posts::title.eq(title));
        }
        if let Some(author) = author {
            query = query.filter(posts::user_id.eq(author));
        }
        if let Some(published) = published {
            query = query.filter(posts::published.eq(published));
        }
        Ok(query.order(posts::id).load(conn).await?)
    """),
    ("posts", "read", "default", "uncommented_titles", "", "Vec<String>", """
        Ok(posts::table
            .filter(posts::id.ne_all(comments::table.select(comments::post_id)))
            .select(posts::title)
            .load(conn)
            .await?)
    """),
    # users: joins, aggregates, groupings
    ("users", "read", "default", "authors_and_titles", "", "Vec<(String, String)>", """
        Ok(posts::table
            .inner_join(users::table)
            .select((users::name, posts::title))
            .load(conn)
            .await?)
    """),
    ("users", "read", "default", "users_and_titles", "", "Vec<(String, Option<String>)>", """
        Ok(users::table
            .left_join(posts::table)
            .select((users::name, posts::title.nullable()))
            .load(conn)
            .await?)
    """),
    ("users", "read", "default", "posts_per_user", "", "Vec<(i32, i64)>", """
        Ok(posts::table
            .group_by(posts::user_id)
            .select((posts::user_id, count_star()))
            .load(conn)
            .await?)
    """),
    ("users", "read", "default", "prolific_users", "minimum: i64", "Vec<(i32, i64)>", """
        Ok(posts::table
            .group_by(posts::user_id)
            .having(count_star().gt(minimum))
            .select((posts::user_id, count_star()))
            .load(conn)
            .await?)
    """),
    ("users", "read", "default", "authors", "", "Vec<i32>", """
        Ok(posts::table.select(posts::user_id).distinct().load(conn).await?)
    """),
    ("users", "read", "default", "users_with_post_counts", "", "Vec<(String, Option<i64>)>", """
        Ok(users::table
            .select((
                users::name,
                posts::table
                    .filter(posts::user_id.eq(users::id))
                    .count()
                    .single_value(),
            ))
            .load(conn)
            .await?)
    """),
    ("users", "read", "default", "score_stats", "", "(Option<i32>, Option<i32>, Option<i64>)", """
        Ok(posts::table
            .select((max(posts::score), min(posts::score), sum(posts::score)))
            .get_result(conn)
            .await?)
    """),
    ("users", "read", "default", "users_with_posts", "", "Vec<(User, Vec<Post>)>", """
        let people: Vec<User> = users::table.select(User::as_select()).load(conn).await?;
        let written: Vec<Post> = Post::belonging_to(&people)
            .select(Post::as_select())
            .load(conn)
            .await?;
        Ok(written
            .grouped_by(&people)
            .into_iter()
            .zip(people)
            .map(|(written, user)| (user, written))
            .collect())
    """),
    # writes
    ("writes", "write", "default", "create_post", "user_id: i32, title: String, body: String", "Post", """
        Ok(diesel::insert_into(posts::table)
            .values(NewPost { user_id, title: &title, body: &body, published: false, score: 0 })
            .returning(Post::as_returning())
            .get_result(conn)
            .await?)
    """),
    ("writes", "write", "default", "publish", "id: i32", "usize", """
        Ok(diesel::update(posts::table.find(id))
            .set(posts::published.eq(true))
            .execute(conn)
            .await?)
    """),
    ("writes", "write", "default", "edit_post", "id: i32, changes: PostChanges", "usize", """
        Ok(diesel::update(posts::table.find(id)).set(changes).execute(conn).await?)
    """),
    ("writes", "write", "default", "delete_uncommented", "", "usize", """
        Ok(diesel::delete(posts::table.filter(posts::id.ne_all(comments::table.select(comments::post_id))))
            .execute(conn)
            .await?)
    """),
    ("writes", "write", "default", "upsert_user", "id: i32, name: String", "usize", """
        Ok(diesel::insert_into(users::table)
            .values((users::id.eq(id), users::name.eq(&name), users::active.eq(true)))
            .on_conflict(users::id)
            .do_update()
            .set(users::name.eq(&name))
            .execute(conn)
            .await?)
    """),
    ("writes", "write", "default", "import_posts", "user_id: i32, titles: Vec<String>", "usize", """
        let rows: Vec<NewPost<'_>> = titles
            .iter()
            .map(|title| NewPost { user_id, title, body: "", published: false, score: 0 })
            .collect();
        Ok(diesel::insert_into(posts::table).values(&rows).execute(conn).await?)
    """),
    ("writes", "write", "default", "bump_scores", "above: i32", "usize", """
        Ok(diesel::update(posts::table.filter(posts::score.gt(above)))
            .set(posts::score.eq(posts::score + 1))
            .execute(conn)
            .await?)
    """),
    ("writes", "write", "default", "lock_and_publish", "user_id: i32", "usize", """
        let ids: Vec<i32> = posts::table
            .filter(posts::user_id.eq(user_id))
            .select(posts::id)
            .for_update()
            .load(conn)
            .await?;
        Ok(diesel::update(posts::table.filter(posts::id.eq_any(ids)))
            .set(posts::published.eq(true))
            .execute(conn)
            .await?)
    """),
    # analytics: another database
    ("analytics", "read", "analytics", "views_of", "path: String", "i64", """
        Ok(page_views::table
            .filter(page_views::path.eq(path))
            .count()
            .get_result(conn)
            .await?)
    """),
    ("analytics", "read", "analytics", "top_paths", "limit: i64", "Vec<(String, i64)>", """
        Ok(page_views::table
            .group_by(page_views::path)
            .select((page_views::path, count_star()))
            .order(count_star().desc())
            .limit(limit)
            .load(conn)
            .await?)
    """),
    ("analytics", "read", "analytics", "slowest", "", "Option<i32>", """
        Ok(page_views::table.select(max(page_views::millis)).get_result(conn).await?)
    """),
    ("analytics", "read", "analytics", "views_by_user", "user_id: i32", "Vec<PageView>", """
        Ok(page_views::table
            .filter(page_views::user_id.eq(user_id))
            .order(page_views::id.desc())
            .select(PageView::as_select())
            .load(conn)
            .await?)
    """),
    ("analytics", "read", "analytics", "paths_and_users", "", "Vec<String>", """
        Ok(page_views::table
            .select(page_views::path)
            .filter(page_views::millis.gt(100))
            .union(page_views::table.select(page_views::path).filter(page_views::user_id.eq(1)))
            .load(conn)
            .await?)
    """),
    ("analytics", "read", "analytics", "any_slow_view", "", "bool", """
        Ok(diesel::select(exists(page_views::table.filter(page_views::millis.gt(1000))))
            .get_result(conn)
            .await?)
    """),
    ("analytics", "write", "analytics", "record_view", "path: String, user_id: i32, millis: i32", "usize", """
        Ok(diesel::insert_into(page_views::table)
            .values((page_views::path.eq(path), page_views::user_id.eq(user_id), page_views::millis.eq(millis)))
            .execute(conn)
            .await?)
    """),
    ("analytics", "write", "analytics", "forget_user", "user_id: i32", "usize", """
        Ok(diesel::delete(page_views::table.filter(page_views::user_id.eq(user_id)))
            .execute(conn)
            .await?)
    """),
]

HEADER = """// Generated by `gen/generate.py` from one list of functions for both programs: edit it,
// not this file.

#![allow(dead_code, clippy::wildcard_imports{allow})]

"""

IMPORTS = {
    "routed": """{dsl}use diesel_route::prelude::*;

#[allow(unused_imports)]
use crate::analytics;
#[allow(unused_imports)]
use crate::models::*;
use crate::schema::*;
#[allow(unused_imports)]
use crate::{PageView, Reader, Writer};
""",
    "plain": """{dsl}use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[allow(unused_imports)]
use crate::models::*;
use crate::schema::*;
#[allow(unused_imports)]
use crate::PageView;
""",
}


def signature(program, role, database, name, params, ret):
    params = f", {params}" if params else ""
    if program == "routed":
        kind = "Reader" if role == "read" else "Writer"
        conn = f"&mut {kind}" if database == "default" else f"&mut {kind}<analytics>"
        return f"#[route({role})]\npub(crate) async fn {name}(conn: {conn}{params}) -> diesel_route::Result<{ret}>"
    return f"pub(crate) async fn {name}(conn: &mut AsyncPgConnection{params}) -> QueryResult<{ret}>"


def dsl_imports(name):
    bodies = " ".join(body for (module_name, *_, body) in FUNCTIONS if module_name == name)
    used = [f for f in ("count_star", "exists", "max", "min", "sum") if f + "(" in bodies]
    return f"use diesel::dsl::{{{', '.join(used)}}};\n" if used else ""


def module(program, name):
    # The bodies end in `Ok(...?)`, which converts diesel's error on the routed side.
    allow = ", clippy::needless_question_mark" if program == "plain" else ""
    out = [HEADER.replace("{allow}", allow), IMPORTS[program].replace("{dsl}", dsl_imports(name))]
    for (module_name, role, database, function, params, ret, body) in FUNCTIONS:
        if module_name != name:
            continue
        body = textwrap.indent(textwrap.dedent(body).strip(), "    ")
        out.append(f"\n{signature(program, role, database, function, params, ret)} {{\n{body}\n}}\n")
    return "".join(out)


def exercise(program, name):
    """A function that calls every function of the module, so that each is compiled to
    machine code as in an application (an uncalled private function would not be)."""
    conn = "source: &mut diesel_route::Router" if program == "routed" else "conn: &mut AsyncPgConnection"
    arg = "&mut *source" if program == "routed" else "&mut *conn"
    calls = []
    for (module_name, role, database, function, params, ret, body) in FUNCTIONS:
        if module_name != name:
            continue
        values = []
        for param in [p for p in params.split(", ") if p]:
            _, ty = param.split(": ", 1)
            values.append({"i32": "1", "i64": "1", "String": "String::new()", "Option<String>": "None",
                           "Option<i32>": "None", "Option<bool>": "None", "Vec<String>": "Vec::new()",
                           "PostChanges": "PostChanges { title: None, body: None, published: None }"}[ty])
        args = ", ".join([arg] + values)
        calls.append(f"    let _ = {function}({args}).await;")
    return f"\n/// Calls every function above.\npub(crate) async fn exercise({conn}) {{\n" + "\n".join(calls) + "\n}\n"


for program in ("routed", "plain"):
    for name in ("posts", "users", "writes", "analytics_queries"):
        source = "analytics" if name == "analytics_queries" else name
        with open(os.path.join(BIN, program, f"{name}.rs"), "w") as file:
            file.write(module(program, source) + exercise(program, source))
