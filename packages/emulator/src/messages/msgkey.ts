/** New-API robot messages: msgKey → the msgParam fields it needs (shared/dingtalk-api.md §7.2). */

const ACTION_CARD_N = (n: number) => {
  const fields = ['title', 'text'];
  for (let i = 1; i <= n; i++) fields.push(`actionTitle${i}`, `actionURL${i}`);
  return fields;
};

export const MSG_KEYS: Record<string, string[]> = {
  sampleText: ['content'],
  sampleMarkdown: ['title', 'text'],
  sampleImageMsg: ['photoURL'],
  sampleLink: ['text', 'title', 'picUrl', 'messageUrl'],
  sampleActionCard: ['title', 'text', 'singleTitle', 'singleURL'],
  sampleActionCard2: ACTION_CARD_N(2),
  sampleActionCard3: ACTION_CARD_N(3),
  sampleActionCard4: ACTION_CARD_N(4),
  sampleActionCard5: ACTION_CARD_N(5),
  sampleActionCard6: ['title', 'text', 'buttonTitle1', 'buttonUrl1', 'buttonTitle2', 'buttonUrl2'],
  sampleAudio: ['mediaId', 'duration'],
  sampleFile: ['mediaId', 'fileName', 'fileType'],
  sampleVideo: ['duration', 'videoMediaId', 'videoType', 'picMediaId'],
};

/** The documented spellings of missing-parameter codes; others follow the same `miss.param.<field>` pattern. */
const MISS_CODES: Record<string, string> = {
  'sampleText.content': 'miss.param.contentOfText',
  'sampleMarkdown.text': 'miss.param.markdownTotext',
  'sampleFile.mediaId': 'miss.param.file',
  'sampleVideo.videoMediaId': 'miss.param.video',
  'sampleAudio.mediaId': 'miss.param.audio',
};

export function missCode(msgKey: string, field: string): string {
  return MISS_CODES[`${msgKey}.${field}`] ?? `miss.param.${field}`;
}
