from customers import roles as role_checks


def roles(request) -> dict:
    user = request.user
    return {
        "is_administrator": role_checks.is_administrator(user),
        "is_account_manager": role_checks.is_account_manager(user),
        "is_marketer": role_checks.is_marketer(user),
    }
