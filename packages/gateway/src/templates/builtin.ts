/**
 * Built-in templates. `alertmanager` renders an Alertmanager webhook (version 4) or a Grafana webhook contact point
 * payload as DingTalk markdown: status and counts first, then each alert with its severity, name, the labels that
 * matter, summary and description, Grafana's values and panel image, start time in the target's time zone, and its
 * links (the source, Grafana's dashboard and panel, a runbook, the silence page). Its first line is the title.
 * Variables the gateway adds: `timeZone` (the target's), `truncatedAlerts` (alerts not shown) and `mentionText`.
 */
const alertmanager = `{%- assign firing = alerts | where: "status", "firing" -%}
{%- assign resolved = alerts | where: "status", "resolved" -%}
{%- comment -%} The group's name; Grafana groups alerts of several names without a common one: the first, and "等". {%- endcomment -%}
{%- assign group = commonLabels.alertname | default: groupLabels.alertname -%}
{%- if group == nil or group == "" -%}{%- assign group = alerts.first.labels.alertname | default: "alerts" -%}{%- if alerts.size > 1 -%}{%- assign group = group | append: " 等" -%}{%- endif -%}{%- endif -%}
{%- if status == "resolved" -%}✅ [RESOLVED:{{ resolved.size }}]{%- else -%}🔥 [FIRING:{{ firing.size }}{% if resolved.size > 0 %}, RESOLVED:{{ resolved.size }}{% endif %}]{%- endif %} {{ group }}
### {% if status == "resolved" %}✅ 已恢复{% else %}🔥 告警{% endif %} {{ group }}
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
{% endif %}{% if a.values.size > 0 %}- 值: {% for v in a.values %}{{ v[0] }}={{ v[1] | round: 4 }}{% unless forloop.last %}, {% endunless %}{% endfor %}
{% endif %}{% assign image = a.imageURL | http_url %}{% if image != "" %}
![panel]({{ image }})
{% endif %}{% capture links %}{% assign u = a.generatorURL | http_url %}{% if u != "" %}[查看]({{ u }}) {% endif %}{% assign u = a.dashboardURL | http_url %}{% if u != "" %}[仪表盘]({{ u }}) {% endif %}{% assign u = a.panelURL | http_url %}{% if u != "" %}[面板]({{ u }}) {% endif %}{% assign u = a.annotations.runbook_url | http_url %}{% if u != "" %}[Runbook]({{ u }}) {% endif %}{% assign u = a.silenceURL | http_url %}{% if u != "" %}[静默]({{ u }}){% endif %}{% endcapture %}{% assign links = links | strip %}{% if links != "" %}- {{ links }}
{% endif %}
{% endfor -%}
{% if truncatedAlerts > 0 %}
…另有 {{ truncatedAlerts }} 条告警被截断 (truncatedAlerts)
{% endif %}{% assign home = externalURL | http_url %}{% if home != "" %}
[{% if orgId %}Grafana{% else %}Alertmanager{% endif %}]({{ home }})
{% endif %}{{ mentionText }}`;

/**
 * By name. `grafana` is the same text (it tells the two payloads apart itself); `prometheus-dd` and `grafana-dd` are
 * PrometheusAlert's default DingTalk template names, so that its URLs (`…&tpl=prometheus-dd`) work unchanged.
 */
export const BUILTIN_TEMPLATES: Readonly<Record<string, string>> = { alertmanager, grafana: alertmanager, 'prometheus-dd': alertmanager, 'grafana-dd': alertmanager };
