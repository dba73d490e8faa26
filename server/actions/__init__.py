"""The only code that changes state. Each action commits, then publishes and calls hooks.

Routes, CLI commands and plugins call these; they never write tables themselves.
"""

from server.actions.badges import award_badge
from server.actions.clarifications import (
    answer_clarification,
    ask_clarification,
    broadcast_clarification,
    create_announcement,
)
from server.actions.contests import (
    add_contest_problem,
    configure_plugin,
    create_contest,
    create_problem,
    disable_plugin,
    enable_language,
    remove_contest_problem,
    update_contest,
)
from server.actions.errors import ActionError, Conflict, Forbidden, Invalid, NotFound
from server.actions.imports import ImportFailed, ImportResult, import_users
from server.actions.leaderboards import (
    create_leaderboard,
    delete_leaderboard,
    remove_player,
    reset_leaderboard,
    submit_scores,
)
from server.actions.standings import rebuild_standings, refresh_teams, scoreboard
from server.actions.submissions import record_verdict, submit
from server.actions.teams import (
    add_team_member,
    create_affiliation,
    create_group,
    create_team,
    remove_team_member,
    update_team,
)
from server.actions.users import (
    authenticate,
    create_api_token,
    create_user,
    get_user,
    set_password,
    update_user,
    user_for_token,
)

__all__ = [
    "ActionError",
    "Conflict",
    "Forbidden",
    "ImportFailed",
    "ImportResult",
    "Invalid",
    "NotFound",
    "add_contest_problem",
    "add_team_member",
    "answer_clarification",
    "ask_clarification",
    "authenticate",
    "award_badge",
    "broadcast_clarification",
    "configure_plugin",
    "create_affiliation",
    "create_announcement",
    "create_api_token",
    "create_contest",
    "create_group",
    "create_leaderboard",
    "create_problem",
    "create_team",
    "create_user",
    "delete_leaderboard",
    "disable_plugin",
    "enable_language",
    "get_user",
    "import_users",
    "rebuild_standings",
    "record_verdict",
    "refresh_teams",
    "remove_player",
    "remove_team_member",
    "reset_leaderboard",
    "scoreboard",
    "set_password",
    "submit",
    "submit_scores",
    "remove_contest_problem",
    "update_contest",
    "update_team",
    "update_user",
    "user_for_token",
]
