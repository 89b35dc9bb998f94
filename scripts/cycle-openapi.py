#!/usr/bin/env python3
# Writes api/cycle/openapi.json, the Cycle front's OpenAPI 3.1 document:
#   python3 scripts/cycle-openapi.py > api/cycle/openapi.json
# The tests validate every answer of the front against it (api/cycle/cycletest).
import json
def ref(n): return {"$ref": "#/components/schemas/"+n}
def obj(props, required=None, extra=False):
    o = {"type":"object","properties":props,"additionalProperties":extra}
    o["required"] = required if required is not None else list(props)
    return o
S = lambda **k: dict(type="string", **k)
T = ref("Timestamp")
strmap = {"type":"object","additionalProperties":{"type":"string"}}
empty = {"type":"object","maxProperties":0}
codes = ["400.invalid-syntax","401.auth-invalid","401.auth-expired","403.permissions","403.wrong-hub","403.invalid-state",
 "404.hub","404.image","404.image.build-log","404.image.source","404.job","404.uri","415.invalid-content-type",
 "422.missing-argument","422.invalid-argument","422.not-compatible","422.max-exceeded","429.rate-limiting",
 "500.unknown","503.not-ready","504.not-available"]
schemas = {
 "ObjectID": S(pattern="^[0-9a-f]{24}$", description="24 hex digits"),
 "Timestamp": S(format="date-time", description="RFC 3339 UTC; 0001-01-01T00:00:00Z when it has not happened"),
 "Error": {"type":"object","additionalProperties":False,"required":["status","code","title"],"properties":{
    "status":{"type":"integer"},"code":{"type":"string","enum":codes},"title":{"type":"string"},
    "detail":{"type":"string"},"source":{"type":"string","description":"JSON pointer to the offending input"},
    "extra":{"type":"object","properties":{"capability":{"type":"string"}}}}},
 "ErrorEnvelope": obj({"error":ref("Error"),"data":{"type":"null"}}),
 "Events": obj({"created":T,"updated":T,"deleted":T}),
 "CreatorRef": obj({"id":ref("ObjectID"),"type":{"type":"string","enum":["api-key","platform"]}}),
 "ImageState": obj({"current":{"type":"string","enum":["new","building","downloading","live","deleting","deleted"]},"changed":T,
    "error":obj({"message":{"type":"string"},"time":T})}, required=["current","changed"]),
 "ImageConfig": obj({"user":S(),"ports":{"type":"array","items":S()},"env":strmap,"labels":strmap,
    "command":{"type":"array","items":S()},"entrypoint":{"type":"array","items":S()},"volumes":{"type":"array","items":S()},
    "workdir":S(),"signal_stop":S()}),
 "ImageBuild": {"type":["object","null"],"properties":{"args":strmap,"use_disk":{"type":"boolean"}},"additionalProperties":False},
 "ContainersCount": obj({"state":{"type":"object","additionalProperties":{"type":"integer"}},"total":{"type":"integer"},"available":{"type":"integer"}}),
 "Image": obj({
    "id":ref("ObjectID"),"hub_id":ref("ObjectID"),"name":S(),"size":{"type":"integer","minimum":0},
    "about":obj({"description":{"type":["string","null"]}}),
    "backend":obj({"provider":S(),"size":{"type":"integer","minimum":0},"file_name":S(),"file_id":S()}),
    "requires":empty,"build":ref("ImageBuild"),"builder":{"type":"null"},"factory":{"type":"null"},
    "source":obj({"type":{"const":"direct"},"details":obj({"id":ref("ObjectID"),"origin":obj({"type":{"const":"none"}})}),
      "id":ref("ObjectID"),"origin":obj({"type":{"const":"none"}})}),
    "creator":ref("CreatorRef"),
    "config":ref("ImageConfig"),"state":ref("ImageState"),"events":ref("Events"),
    "meta":obj({"containers_count":ref("ContainersCount")}, required=[])},
    required=["id","hub_id","name","size","backend","requires","config","state","events"]),
 "APIKey": obj({"id":ref("ObjectID"),"name":S(),"hub_id":ref("ObjectID"),"creator":ref("CreatorRef"),
    "permissions":obj({"all_environments":{"type":"boolean"},"environments":{"type":"array","items":S()}}),
    "capabilities":obj({"all":{"type":"boolean"},"specific":{"type":"array","items":S()}}),
    "ips":{"type":"null"},"state":obj({"current":{"type":"string","enum":["live","deleted"]},"changed":T}),"events":ref("Events")}),
 "Source": obj({"id":ref("ObjectID"),"identifier":S(),"name":S(),"type":{"const":"direct"},"hub_id":ref("ObjectID"),
    "origin":obj({"type":{"const":"none"}}),"creator":ref("CreatorRef"),
    "state":obj({"current":{"type":"string","enum":["live","deleted"]},"changed":T}),"events":ref("Events")}),
 "Includes": obj({
    "creators":obj({"api_keys":{"type":"object","additionalProperties":ref("APIKey")}}),
    "sources":{"type":"object","additionalProperties":ref("Source")},
    "sources:identifiers":{"type":"object","additionalProperties":{"type":"array","items":ref("ObjectID")}},
    "stack_builds":empty,"stack_builds:identifiers":empty,"stacks":empty,"stacks:identifiers":empty,
    "integrations":empty,"integrations:identifiers":empty}, required=[]),
 "JobDescriptor": obj({"action":{"type":"string","enum":["delete","prune","import"]},
    "job":obj({"id":ref("ObjectID"),"accepted":{"type":"boolean"},"queue":{"const":"images"},"schedule":T,
      "parallel":obj({"sub_queue":{"type":"null"},"tasks":{"type":"boolean"}}),
      "tasks":{"type":"array","minItems":1,"maxItems":1,"items":obj({"caption":S(),"header":{"type":"string","enum":["images.delete","images.prune","images.import"]},
        "input":strmap,"steps":{"type":"null"}})}})}),
 "JobEvents": obj({"queued":T,"started":T,"completed":T}),
 "Job": obj({"id":ref("ObjectID"),"hub_id":ref("ObjectID"),"queue":{"const":"images"},"caption":S(),
    "events":ref("JobEvents"),"schedule":T,"expires":T,
    "tasks":{"type":"array","items":obj({"id":ref("ObjectID"),"caption":S(),"header":S(),"events":ref("JobEvents"),
       "steps":{"type":"array"},"state":obj({"current":{"type":"string","enum":["pending","running","completed","error"]},"changed":T}),
       "input":strmap,"output":strmap,"error":{"oneOf":[{"type":"null"},obj({"message":S()})]}})},
    "hash":S(pattern="^[0-9a-f]{64}$"),"limit_duplicates":{"type":"boolean"},"creator":ref("CreatorRef"),
    "state":obj({"current":{"type":"string","enum":["new","queued","running","completed","error"]},"changed":T,
       "error":{"oneOf":[{"type":"null"},obj({"message":S()})]}})}),
 "BuildLog": obj({"id":ref("ObjectID"),"hub_id":ref("ObjectID"),"image_id":ref("ObjectID"),"log":S(),"events":ref("Events")}),
 "CreateImage": {"type":"object","required":["source_id"],"properties":{"source_id":S(description="native instance id or its ObjectID"),
    "name":S(maxLength=1024),"build":ref("ImageBuild"),"override":{"description":"refused with 422: instances have no registry target"}}},
 "UpdateImage": {"type":"object","additionalProperties":False,"properties":{"name":S(minLength=1,maxLength=1024)}},
 "PruneTask": {"type":"object","required":["action","contents"],"properties":{"action":{"const":"prune"},
    "contents":{"type":"object","required":["source_ids"],"properties":{"source_ids":{"type":"array","minItems":1,"items":S()}}}}},
 "ImportTask": {"type":"object","required":["action"],"properties":{"action":{"const":"import"}}},
}
def resp(desc, schema): return {"description":desc,"content":{"application/json":{"schema":schema}},
   "headers":{"Request-Id":{"schema":{"type":"string","format":"uuid"}}}}
def errs(*statuses):
    d = {"400":"malformed JSON or query","401":"missing, unknown, revoked or expired key","403":"missing capability, wrong hub or invalid state",
         "404":"unknown hub, image, log, source, job or path","415":"body not application/json","422":"missing or invalid argument, not compatible, body over 1 MiB",
         "429":"throttled (Retry-After is set)","500":"gateway fault","503":"cloud unavailable","504":"cloud deadline exceeded"}
    return {s: {"$ref":"#/components/responses/Error"+s} for s in statuses}
common = ["400","401","403","404","429","500","503","504"]
body = ["415","422"]
P = lambda n: {"$ref":"#/components/parameters/"+n}
params = {
 "Authorization":{"name":"Authorization","in":"header","required":True,"schema":S(pattern="^Bearer .+"),"description":"Bearer <API key secret>"},
 "HubId":{"name":"X-Hub-Id","in":"header","required":True,"schema":ref("ObjectID")},
 "ImageId":{"name":"imageId","in":"path","required":True,"schema":S(),"description":"the image's ObjectID (anything else: 404)"},
 "JobId":{"name":"jobId","in":"path","required":True,"schema":S()},
 "Include":{"name":"include","in":"query","schema":S(),"description":"comma list of creators, stack_builds, stacks, sources, integrations"},
 "Meta":{"name":"meta","in":"query","schema":{"type":"string","enum":["containers_count"]}},
 "FIdentifier":{"name":"filter[identifier]","in":"query","schema":S(),"description":"native id or name, comma for OR"},
 "FSearch":{"name":"filter[search]","in":"query","schema":S()},
 "FState":{"name":"filter[state]","in":"query","schema":S(),"description":"comma list of new, building, downloading, live, deleting, deleted"},
 "FSourceType":{"name":"filter[source_type]","in":"query","schema":S(),"description":"direct, stack-build or bucket"},
 "FSourceId":{"name":"filter[source_id]","in":"query","schema":S()},
 "Sort":{"name":"sort","in":"query","schema":S(),"description":"comma list of id, name, size, state, created, updated; - for descending; default -created"},
 "PageNumber":{"name":"page[number]","in":"query","schema":{"type":"integer","minimum":1,"maximum":16777216}},
 "PageSize":{"name":"page[size]","in":"query","schema":{"type":"integer","minimum":1,"maximum":100}},
}
auth = [P("Authorization"),P("HubId")]
def reqbody(n): return {"required":True,"content":{"application/json":{"schema":ref(n)}}}
data = lambda s: obj({"data":s})
paths = {
 "/v1/openapi.json":{"get":{"operationId":"getOpenAPI","summary":"This document","responses":{"200":{"description":"the OpenAPI document","content":{"application/json":{"schema":{"type":"object"}}}}}}},
 "/v1/images":{
   "get":{"operationId":"getImages","summary":"List images (images-view)","parameters":auth+[P(n) for n in ["FIdentifier","FSearch","FState","FSourceType","FSourceId","Sort","PageNumber","PageSize","Include","Meta"]],
      "responses":{"200":resp("images",obj({"data":{"type":"array","items":ref("Image")},"includes":ref("Includes")},required=["data"])),**errs(*common)}},
   "post":{"operationId":"createImage","summary":"Create an image from an instance (images-manage)","parameters":auth,"requestBody":reqbody("CreateImage"),
      "responses":{"201":resp("the new image, new or building",data(ref("Image"))),**errs(*(common+body))}}},
 "/v1/images/tasks":{"post":{"operationId":"createImagesJob","summary":"Prune images (images-manage)","parameters":auth,"requestBody":reqbody("PruneTask"),
      "responses":{"202":resp("the prune job",data(ref("JobDescriptor"))),**errs(*(common+body))}}},
 "/v1/images/{imageId}":{
   "get":{"operationId":"getImage","summary":"Get an image (images-view)","parameters":auth+[P("ImageId"),P("Include"),P("Meta")],
      "responses":{"200":resp("the image",obj({"data":ref("Image"),"includes":ref("Includes")},required=["data"])),**errs(*common)}},
   "patch":{"operationId":"updateImage","summary":"Rename an image (images-manage)","parameters":auth+[P("ImageId")],"requestBody":reqbody("UpdateImage"),
      "responses":{"200":resp("the image",data(ref("Image"))),**errs(*(common+body))}},
   "delete":{"operationId":"removeImage","summary":"Delete an image (images-manage)","parameters":auth+[P("ImageId")],
      "responses":{"200":resp("the delete job",data(ref("JobDescriptor"))),**errs(*common)}}},
 "/v1/images/{imageId}/build-log":{"get":{"operationId":"getImageBuildLog","summary":"The image's build log (images-view)","parameters":auth+[P("ImageId")],
      "responses":{"200":resp("the log",data(ref("BuildLog"))),**errs(*common)}}},
 "/v1/images/{imageId}/tasks":{"post":{"operationId":"createImageJob","summary":"Import an image (images-import)","parameters":auth+[P("ImageId")],"requestBody":reqbody("ImportTask"),
      "responses":{"200":resp("the import job",data(ref("JobDescriptor"))),**errs(*(common+body))}}},
 "/v1/jobs/{jobId}":{"get":{"operationId":"getJob","summary":"A job (apionly-jobs-view or any images-*)","parameters":auth+[P("JobId")],
      "responses":{"200":resp("the job",data(ref("Job"))),**errs(*common)}}},
}
responses = {}
descs = {"400":"Invalid syntax","401":"Unauthenticated","403":"Forbidden","404":"Not found","415":"Unsupported media type","422":"Unprocessable",
 "429":"Rate limited","500":"Internal error","503":"Not ready","504":"Not available"}
for s,d in descs.items():
    r = resp(d, ref("ErrorEnvelope"))
    if s == "429": r["headers"]["Retry-After"] = {"schema":{"type":"integer"}}
    responses["Error"+s] = r
doc = {"openapi":"3.1.0","info":{"title":"imagegw Cycle-style images API","version":"0.1.0",
  "description":"The Images section of the Cycle Platform API served by imagegw (shared/specs/cycle.md). Every call needs Authorization: Bearer <key> and X-Hub-Id."},
  "servers":[{"url":"/"}],"paths":paths,
  "components":{"schemas":schemas,"parameters":params,"responses":responses}}
print(json.dumps(doc, indent=1))
