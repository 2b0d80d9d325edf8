// The application every case builds on: two declared databases, a schema, a bound model.

use diesel_route::prelude::*;

diesel_route::databases! {
    default: postgres,
    another_database: postgres,
}

diesel::table! {
    users (id) {
        id -> Integer,
        name -> Text,
    }
}

diesel::table! {
    posts (id) {
        id -> Integer,
        user_id -> Integer,
        title -> Text,
        published -> Bool,
    }
}

diesel::table! {
    page_views (id) {
        id -> Integer,
        path -> Text,
    }
}

diesel::joinable!(posts -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, posts);
diesel_route::tables!(default: users, posts);

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = page_views)]
#[bind("another_database")]
pub struct PageView {
    pub id: i32,
    pub path: String,
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = posts)]
pub struct Post {
    pub id: i32,
    pub user_id: i32,
    pub title: String,
    pub published: bool,
}
