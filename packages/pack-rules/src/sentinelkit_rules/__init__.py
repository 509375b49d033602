"""sentinelkit pack ``rules``: analytics rules (from parameters, Azure-Sentinel YAML, ARM exports and
templates), their rollout across workspaces and tenants, KQL validation, test runs, MITRE coverage, and
automation rules.

Importing this module is cheap: the tool modules import only the core's contract, PyYAML and
sentinelkit-kql load on first use.
"""

from __future__ import annotations

from sentinelkit import ContentKindRegistrar, ToolRegistrar, hookimpl

__version__ = "0.1.0"


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    from . import automation, coverage, deploy, kql, rules, templates, testrun

    for fn in (rules.rule_list, rules.rule_get, rules.rule_enable, rules.rule_disable, rules.rule_delete,
               rules.rule_create, rules.rule_update, templates.rule_template_list, deploy.rule_deploy,
               testrun.rule_test, coverage.rule_coverage, kql.kql_validate, automation.automation_rule_list,
               automation.automation_rule_get, automation.automation_rule_create, automation.automation_rule_update,
               automation.automation_rule_delete, automation.automation_rule_enable,
               automation.automation_rule_disable):
        register(fn)


@hookimpl
def register_content_kinds(register: ContentKindRegistrar) -> None:
    from .kinds import AnalyticsRuleKind, AutomationRuleKind

    register(AnalyticsRuleKind())
    register(AutomationRuleKind())


__all__ = ["register_content_kinds", "register_tools"]
