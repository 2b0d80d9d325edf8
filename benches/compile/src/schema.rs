//! The schema both programs query: three tables of the default database, one of
//! `analytics`.

diesel::table! {
    users (id) {
        id -> Integer,
        name -> Text,
        active -> Bool,
    }
}

diesel::table! {
    posts (id) {
        id -> Integer,
        user_id -> Integer,
        title -> Text,
        body -> Text,
        published -> Bool,
        score -> Integer,
    }
}

diesel::table! {
    comments (id) {
        id -> Integer,
        post_id -> Integer,
        user_id -> Integer,
        body -> Text,
    }
}

diesel::table! {
    page_views (id) {
        id -> Integer,
        path -> Text,
        user_id -> Integer,
        millis -> Integer,
    }
}

diesel::joinable!(posts -> users (user_id));
diesel::joinable!(comments -> posts (post_id));
diesel::allow_tables_to_appear_in_same_query!(users, posts, comments);
