/**
 * GraphiQL's first minute without a token: the schema needs one (`schema:introspect`), and GraphiQL alone only says
 * "Error fetching schema" and never tries again. This page addition (a note above GraphiQL, a style and one inline
 * script, allowed by its hash like the others) says what to paste and where a token comes from, explains a refused
 * schema fetch (no token, expired, malformed, wrong role) and fetches the schema again by itself once the
 * Authorization header in the headers editor changes.
 *
 * How: the script wraps `window.fetch` (Yoga's GraphiQL calls `globalThis.fetch` on each request) to watch schema
 * fetches, and GraphiQL's `onEditHeaders` callback sends the keystroke GraphiQL itself re-fetches the schema on
 * (Shift-Ctrl-R, a `keydown` listener on `window` in graphiql 5).
 */

/** Id of the note element; the browser test reads it. */
export const TOKEN_HELP_ID = 'pg-token-help';

/** The note (filled by the script) and the layout that keeps GraphiQL below it. */
export const TOKEN_HELP_HTML =
  '<style>html,body{height:100%;margin:0}body{display:flex;flex-direction:column}' +
  '#root{flex:1;min-height:0}#root>.graphiql-container{height:100%}' +
  `#${TOKEN_HELP_ID}{font:14px/1.4 system-ui,sans-serif;padding:8px 16px;background:#fff4ce;color:#3b2f00;border-bottom:1px solid #e0c060}` +
  `#${TOKEN_HELP_ID}[hidden]{display:none}#${TOKEN_HELP_ID} code{background:#0001;padding:0 3px;border-radius:3px}` +
  // GraphiQL's docs pane says only "Error fetching schema": point at the note instead
  '.graphiql-doc-explorer-error{font-size:0}.graphiql-doc-explorer-error::after{font-size:14px;' +
  'content:"No schema yet: paste a token in Headers (see the note at the top)."}</style>' +
  `<div id=${TOKEN_HELP_ID} role=status></div>`;

/**
 * Defines `pgTokenHelp.onEditHeaders` for GraphiQL's options. Plain ES2017, no imports: it runs inline in the page.
 * The token's text is never shown or stored; only whether one is present and when it changes.
 */
export const TOKEN_HELP_SCRIPT = `(function(){
var note=document.getElementById(${JSON.stringify(TOKEN_HELP_ID)});
var tokenUrl=location.origin+'/oauth/token';
function code(t){var c=document.createElement('code');c.textContent=t;return c}
function say(parts){
  note.replaceChildren.apply(note,parts.map(function(p){return typeof p==='string'?document.createTextNode(p):p}));
  note.hidden=false;
}
var howToGet=['Get one with ',code('curl -s -u CLIENT_ID:CLIENT_SECRET -d grant_type=client_credentials '+tokenUrl),
  ' (in development the demo clients are in ',code('.data/demo-clients.json'),'; the analyst\\'s token opens the schema).'];
var paste=['Paste a token: in Headers below, enter ',code('{"Authorization": "Bearer <token>"}'),
  '. The schema then loads by itself. '];
function missing(){say(paste.concat(howToGet))}
function refused(status,www){
  var m=/error_description="([^"]*)"/.exec(www||'');
  if(status===401)say(['This token was refused'+(m?': '+m[1]:'')+'. '].concat(paste,howToGet));
  else if(status===403)say(['This token may not read the schema (it needs the scope ',code('schema:introspect'),
    ', e.g. the analyst role). Queries allowed to its role still run. '].concat(howToGet));
  else say(['The schema could not be fetched (HTTP '+status+'). Try again with Shift-Ctrl-R.']);
}
function hasAuth(h){try{return new Headers(h||{}).has('authorization')}catch(e){return false}}
var realFetch=window.fetch.bind(window);
window.fetch=function(input,init){
  var p=realFetch(input,init);
  var body=init&&typeof init.body==='string'?init.body:'';
  if(body.indexOf('__schema')<0)return p;
  var sent=hasAuth(init.headers);
  return p.then(function(r){
    // without a token introspection is refused (401, or 403 from the introspection rule): the same advice either way
    if(r.ok)note.hidden=true;
    else if(!sent)missing();
    else refused(r.status,r.headers.get('www-authenticate'));
    return r;
  });
};
var last='',timer=0;
function authOf(text){
  try{var h=JSON.parse(text||'{}');for(var k in h)if(/^authorization$/i.test(k))return String(h[k]).trim()}catch(e){return null}
  return '';
}
window.pgTokenHelp={onEditHeaders:function(text){
  clearTimeout(timer);
  timer=setTimeout(function(){
    var auth=authOf(text);
    // half-typed JSON or an unchanged header: nothing to fetch yet
    if(auth===null||auth===last)return;
    last=auth;
    window.dispatchEvent(new KeyboardEvent('keydown',{key:'R',ctrlKey:true,shiftKey:true}));
  },400);
}};
missing();
})()`;
