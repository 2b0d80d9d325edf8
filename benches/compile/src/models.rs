//! The rows both programs load.
// The rows are loaded, never read: the programs are compiled, not run.
#![allow(dead_code)]

use diesel::prelude::*;

use crate::schema::{comments, posts, users};

#[derive(Queryable, Selectable, Identifiable, Debug, Clone)]
#[diesel(table_name = users)]
pub(crate) struct User {
    pub(crate) id: i32,
    pub(crate) name: String,
    pub(crate) active: bool,
}

#[derive(Queryable, Selectable, Identifiable, Associations, Debug, Clone)]
#[diesel(table_name = posts, belongs_to(User))]
pub(crate) struct Post {
    pub(crate) id: i32,
    pub(crate) user_id: i32,
    pub(crate) title: String,
    pub(crate) body: String,
    pub(crate) published: bool,
    pub(crate) score: i32,
}

#[derive(Queryable, Selectable, Identifiable, Associations, Debug, Clone)]
#[diesel(table_name = comments, belongs_to(Post))]
pub(crate) struct Comment {
    pub(crate) id: i32,
    pub(crate) post_id: i32,
    pub(crate) user_id: i32,
    pub(crate) body: String,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = posts)]
pub(crate) struct NewPost<'a> {
    pub(crate) user_id: i32,
    pub(crate) title: &'a str,
    pub(crate) body: &'a str,
    pub(crate) published: bool,
    pub(crate) score: i32,
}

#[derive(AsChangeset, Debug)]
#[diesel(table_name = posts)]
pub(crate) struct PostChanges {
    pub(crate) title: Option<String>,
    pub(crate) body: Option<String>,
    pub(crate) published: Option<bool>,
}
