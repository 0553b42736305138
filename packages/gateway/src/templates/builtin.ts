/**
 * Built-in templates. `alertmanager` renders an Alertmanager webhook (version 4) or a Grafana webhook contact point
 * payload as DingTalk markdown: status and counts first, then each alert with its severity, name, the labels that
 * matter, summary and description, start time in the target's time zone, and a link back. Its first line is the title.
 */
const alertmanager = `{%- assign firing = alerts | where: "status", "firing" -%}
{%- assign resolved = alerts | where: "status", "resolved" -%}
{%- if status == "resolved" -%}✅ [RESOLVED:{{ resolved.size }}]{%- else -%}🔥 [FIRING:{{ firing.size }}{% if resolved.size > 0 %}, RESOLVED:{{ resolved.size }}{% endif %}]{%- endif %} {{ commonLabels.alertname | default: groupLabels.alertname | default: title | default: "alerts" }}
### {% if status == "resolved" %}✅ 已恢复{% else %}🔥 告警{% endif %} {{ commonLabels.alertname | default: groupLabels.alertname | default: title | default: "alerts" }}
{% for a in alerts -%}
---
**{% if a.status == "resolved" %}✅ 已恢复{% else %}🔥 {{ a.labels.severity | default: "firing" | upcase }}{% endif %}** {{ a.labels.alertname }}
{% if a.annotations.summary %}
> {{ a.annotations.summary }}
{% endif %}{% if a.annotations.description %}
{{ a.annotations.description }}
{% endif %}
{% for l in a.labels %}{% unless l[0] == "alertname" or l[0] == "severity" %}- {{ l[0] }}: {{ l[1] }}
{% endunless %}{% endfor %}- 开始: {{ a.startsAt | date: "%Y-%m-%d %H:%M:%S", timeZone }}
{% if a.status == "resolved" %}- 恢复: {{ a.endsAt | date: "%Y-%m-%d %H:%M:%S", timeZone }}
{% endif %}{% assign link = a.generatorURL | http_url %}{% if link != "" %}- [查看]({{ link }})
{% endif %}
{% endfor -%}
{% if truncatedAlerts > 0 %}
…另有 {{ truncatedAlerts }} 条告警被截断 (truncatedAlerts)
{% endif %}{% assign home = externalURL | http_url %}{% if home != "" %}
[Alertmanager]({{ home }})
{% endif %}{{ mentionText }}`;

export const BUILTIN_TEMPLATES: Record<string, string> = { alertmanager };
